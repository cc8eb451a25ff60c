// The supabase-dr resource provider: one plugin for every resource type of the package, dispatching
// each engine call by the type in the resource's URN to that type's adapter (provider/resources), the
// same check/diff/create/read/update/delete objects the resources used as dynamic providers. The
// adapters see plain values; secrets are unwrapped on the way in and wrapped on the way out
// (provider/wire.ts), so a secret input, and every output the type declares secret, stays secret in
// the state.
import type * as provider from "@pulumi/pulumi/provider";
import { ADAPTERS, type Adapter } from "./registry";
import { PACKAGE, RESOURCE_SECRETS, type ResourceName } from "./spec";
import { typeOfUrn, unwrapProps, wrapProps, type Props } from "./wire";

interface Resolved {
    adapter: Adapter;
    declaredSecrets: readonly string[];
}

export function supabaseDrProvider(version: string, adapters: Record<ResourceName, () => Promise<Adapter>> = ADAPTERS): provider.Provider {
    async function resolve(urn: string): Promise<Resolved> {
        const type = typeOfUrn(urn);
        const prefix = `${PACKAGE}:index:`;
        const name = type.startsWith(prefix) ? type.slice(prefix.length) : undefined;
        if (name === undefined || !Object.hasOwn(adapters, name)) {
            throw new Error(`the ${PACKAGE} provider v${version} has no resource type ${type}`);
        }
        return { adapter: await adapters[name as ResourceName](), declaredSecrets: RESOURCE_SECRETS[name as ResourceName] };
    }

    /** Output properties for the engine: secret where the type says so, or where the value came in secret. */
    const wrapOutputs = (r: Resolved, outs: Props | undefined, ...secretSources: Set<string>[]) =>
        wrapProps(outs, [...r.declaredSecrets, ...secretSources.flatMap((s) => [...s])]);

    return {
        version,

        async check(urn, olds, news) {
            const r = await resolve(urn);
            if (!r.adapter.check) return { inputs: news };
            const o = unwrapProps(olds);
            const n = unwrapProps(news);
            const result = await r.adapter.check(o.props, n.props);
            // Inputs go back as they came (secrets still wrapped) unless the adapter changed them.
            const inputs = result.inputs === undefined || result.inputs === n.props ? news : wrapProps(result.inputs, n.secretKeys);
            return { inputs, failures: result.failures };
        },

        async diff(id, urn, olds, news) {
            const r = await resolve(urn);
            if (!r.adapter.diff) return {};
            return r.adapter.diff(id, unwrapProps(olds).props, unwrapProps(news).props);
        },

        async create(urn, inputs) {
            const r = await resolve(urn);
            if (!r.adapter.create) throw new Error(`${typeOfUrn(urn)} cannot be created`);
            const i = unwrapProps(inputs);
            const result = await r.adapter.create(i.props);
            return { id: result.id, outs: wrapOutputs(r, result.outs, i.secretKeys) };
        },

        async read(id, urn, props) {
            const r = await resolve(urn);
            if (!r.adapter.read) return { id, props };
            const p = unwrapProps(props);
            const result = await r.adapter.read(id, p.props);
            return { id: result.id, props: wrapOutputs(r, result.props, p.secretKeys) };
        },

        async update(id, urn, olds, news) {
            const r = await resolve(urn);
            const o = unwrapProps(olds);
            const n = unwrapProps(news);
            // Without update, the engine's default: the new inputs are the new state.
            if (!r.adapter.update) return { outs: wrapOutputs(r, n.props, o.secretKeys, n.secretKeys) };
            const result = await r.adapter.update(id, o.props, n.props);
            return { outs: wrapOutputs(r, result.outs, o.secretKeys, n.secretKeys) };
        },

        async delete(id, urn, props) {
            const r = await resolve(urn);
            if (r.adapter.delete) await r.adapter.delete(id, unwrapProps(props).props);
        },
    };
}
