// Provider side of the resource: a scratch database on a PostgreSQL server, created for a drill and
// dropped with it. Thin adapter over lib/postgres/scratchDatabase; each call opens its own pg client.
import type * as pulumi from "@pulumi/pulumi";
import { parseConnectionString, withDatabase } from "../../lib/postgres/connection";
import { createScratchDatabase, dropScratchDatabase, scratchDatabaseExists } from "../../lib/postgres/scratchDatabase";
import { redactError } from "../../lib/redact";

interface ProviderInputs {
    adminUrl: string;
    namePrefix?: string;
}

interface ProviderOutputs extends ProviderInputs {
    databaseName: string;
    ownerToken: string;
    connectionString: string;
    server: string;
}

function serverOf(adminUrl: string): string {
    const info = parseConnectionString(adminUrl, "adminUrl");
    return `${info.host}:${info.port}`;
}

export const scratchDatabaseProvider: pulumi.dynamic.ResourceProvider<ProviderInputs, ProviderOutputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        try {
            parseConnectionString(news.adminUrl, "adminUrl");
        } catch (err) {
            failures.push({ property: "adminUrl", reason: (err as Error).message });
        }
        if (news.namePrefix !== undefined && !/^[a-z][a-z0-9_]{0,39}$/.test(news.namePrefix)) {
            failures.push({ property: "namePrefix", reason: "use 1-40 lowercase letters, digits and _, starting with a letter" });
        }
        return { inputs: news, failures };
    },

    async create(inputs) {
        try {
            const db = await createScratchDatabase(inputs.adminUrl, inputs.namePrefix ?? "drill");
            const outs: ProviderOutputs = {
                ...inputs,
                databaseName: db.name,
                ownerToken: db.ownerToken,
                connectionString: db.connectionString,
                server: serverOf(inputs.adminUrl),
            };
            return { id: `${outs.server}/${db.name}`, outs };
        } catch (err) {
            throw redactError(err, [inputs.adminUrl]);
        }
    },

    async read(id, props) {
        if (!props) return { id, props };
        const exists = await scratchDatabaseExists(props.adminUrl, props.databaseName);
        // An empty id tells the engine the resource is gone.
        return exists ? { id, props } : { id: "", props };
    },

    async diff(_id, olds, news) {
        const replaces: string[] = [];
        if (serverOf(olds.adminUrl) !== serverOf(news.adminUrl)) replaces.push("adminUrl");
        if ((olds.namePrefix ?? "drill") !== (news.namePrefix ?? "drill")) replaces.push("namePrefix");
        // A changed password on the same server is an in-place update: the database stays.
        const changes = replaces.length > 0 || olds.adminUrl !== news.adminUrl;
        return { changes, replaces, deleteBeforeReplace: false };
    },

    async update(_id, olds, news) {
        return { outs: { ...olds, adminUrl: news.adminUrl, connectionString: withDatabase(news.adminUrl, olds.databaseName) } };
    },

    async delete(_id, props) {
        try {
            await dropScratchDatabase(props.adminUrl, props.databaseName, props.ownerToken);
        } catch (err) {
            throw redactError(err, [props.adminUrl]);
        }
    },
};
