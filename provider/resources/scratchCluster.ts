// Provider side of the resource: the drill's own throw-away PostgreSQL cluster (initdb into a temp dir, free loopback
// port, random password), started on create and stopped and deleted on destroy. Thin adapter over
// lib/postgres/scratchCluster. The server outlives the provider process: `up` creates it, a later
// `destroy` (or `--cleanup` of a kept drill) removes it.
import type * as pulumi from "@pulumi/pulumi";
import { createScratchCluster, destroyScratchCluster, scratchClusterState, type ScratchCluster as Cluster } from "../../lib/postgres/scratchCluster";
import { redactError } from "../../lib/redact";

interface Inputs {
    baseDir?: string;
}

type Outputs = Inputs & Cluster;

export const scratchClusterProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> = {
    async create(inputs) {
        const cluster = await createScratchCluster({ baseDir: inputs.baseDir });
        return { id: `cluster-${cluster.systemIdentifier}`, outs: { ...inputs, ...cluster } };
    },

    async read(id, props) {
        if (!props) return { id, props };
        // A stopped or deleted cluster (machine rebooted, temp dir cleaned) is gone for the engine.
        return scratchClusterState(props) === "running" ? { id, props } : { id: "", props };
    },

    async diff(_id, olds, news) {
        const changed = (olds.baseDir ?? null) !== (news.baseDir ?? null);
        return { changes: changed, replaces: changed ? ["baseDir"] : [], deleteBeforeReplace: true };
    },

    async delete(_id, props) {
        try {
            destroyScratchCluster(props);
        } catch (err) {
            throw redactError(err, [props.adminUrl]);
        }
    },
};
