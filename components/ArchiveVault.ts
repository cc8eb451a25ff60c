// The secondary backup copy in Azure Blob Storage (runbook 004 §1.1–1.2): a storage account, a private
// container with a time-based (WORM) immutability policy, blob versioning and soft delete, and lifecycle
// rules that mirror the S3 vault's retention (daily backups kept N days, monthly archives in the Archive
// tier for M months, old versions expired).
//
// Choices worth knowing:
// - SKU Standard_GRS, not ZRS: this is the *secondary* copy, so it must survive the loss of a region
//   (GRS replicates to the paired region), and the Archive tier used for monthly archives exists only
//   for LRS/GRS/RA-GRS accounts — not ZRS or GZRS.
// - Shared-key access is off: the mirror job authenticates with Entra ID (GitHub OIDC → federated
//   credential → a data-plane role), so account keys and SAS tokens built from them cannot exist as
//   long-lived secrets. Pulumi manages everything through ARM, which does not need the keys.
// - Public network access stays Enabled: GitHub-hosted runners have no fixed addresses to allow-list.
//   Every request still needs an Entra token (no anonymous access, no shared key); add network rules
//   when the mirror runs from a network you control.
// - Access tier Hot: daily blobs are deleted after about a week, and Cool/Cold charge early deletion for
//   30/90 days; monthly archives move to Archive through the lifecycle policy instead.
// - Locking the immutability policy is irreversible (nobody, including the subscription owner, can then
//   shorten the retention or delete the container before every blob has expired). azure-native creates
//   the policy Unlocked and has no resource or function for the lock (a POST action on the policy), so
//   `lockImmutabilityPolicy: true` adds the ImmutabilityPolicyLock resource (sdk/immutabilityPolicyLock), which calls
//   that action with a token of the azure-native provider's own identity (authorization.getClientToken).
//   Manual equivalent:
//     az storage container immutability-policy lock --resource-group <rg> --account-name <account> \
//       --container-name <container> --if-match "$(az storage container immutability-policy show \
//       --resource-group <rg> --account-name <account> --container-name <container> --query etag -o tsv)"
//   Once locked, the policy can only be extended (`az storage container immutability-policy extend`);
//   changing immutabilityDays afterwards makes azure-native's update fail, and destroy fails until the
//   blobs expire.
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as resources from "@pulumi/azure-native/resources";
import * as storage from "@pulumi/azure-native/storage";
import type * as azureInputs from "@pulumi/azure-native/types/input";
import { ImmutabilityPolicyLock } from "../sdk/immutabilityPolicyLock";

export interface ArchiveVaultArgs {
    /** prod, staging, …: the `db/{env}/` and `storage/{env}/` prefixes of runbook 001. */
    environment: string;
    location: pulumi.Input<string>;
    /** An existing resource group; when absent one is created. */
    resourceGroupName?: pulumi.Input<string>;
    /** 3-24 lowercase letters and digits, globally unique. When absent Pulumi generates one. */
    accountName?: pulumi.Input<string>;
    /** Default "supabase-backups". */
    containerName?: string;
    /** Days every blob stays immutable after it is written. Default 7 (runbook 004). */
    immutabilityDays?: number;
    /** IRREVERSIBLE: lock the immutability policy. Default false. */
    lockImmutabilityPolicy?: boolean;
    /** Daily backups (db/{env}/, storage/{env}/) are deleted after this many days. Default max(7, immutabilityDays). */
    dailyRetentionDays?: number;
    /** Monthly archives (monthly/) go to the Archive tier and are deleted after this many months. Default 12. */
    monthlyArchiveMonths?: number;
    /** Protect the account, container and policy from deletion. Default: environment === "prod". */
    protect?: boolean;
    tags?: Record<string, string>;
}

const DEFAULT_CONTAINER = "supabase-backups";
/** Azure's upper bound for a time-based retention period. */
const MAX_IMMUTABILITY_DAYS = 146_000;
/** Azure's bounds for blob and container soft delete. */
const MIN_SOFT_DELETE_DAYS = 7;
const MAX_SOFT_DELETE_DAYS = 365;
const DAYS_PER_MONTH = 31;

function fail(message: string): never {
    throw new Error(`ArchiveVault ${message}`);
}

function wholeDays(value: number, name: string, min: number, max: number, unit = "days"): number {
    if (!Number.isInteger(value) || value < min || value > max) {
        fail(`${name} must be a whole number of ${unit} between ${min} and ${max} (got ${value})`);
    }
    return value;
}

export interface ArchiveVaultSettings {
    containerName: string;
    immutabilityDays: number;
    lockImmutabilityPolicy: boolean;
    dailyRetentionDays: number;
    monthlyArchiveMonths: number;
    softDeleteDays: number;
    protect: boolean;
}

/** Validates the arguments and fills in defaults; every error names the argument and the expected form. */
export function archiveVaultSettings(args: ArchiveVaultArgs): ArchiveVaultSettings {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(args.environment ?? "")) {
        fail(`environment must be 1-32 lowercase letters, digits and '-', starting with a letter (got ${JSON.stringify(args.environment)})`);
    }
    if (typeof args.accountName === "string" && !/^[a-z0-9]{3,24}$/.test(args.accountName)) {
        fail(`accountName must be 3-24 lowercase letters and digits (got ${JSON.stringify(args.accountName)})`);
    }
    const rg = args.resourceGroupName;
    if (typeof rg === "string" && (!/^[-\w.()]{1,90}$/.test(rg) || rg.endsWith("."))) {
        fail(`resourceGroupName must be 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.' (got ${JSON.stringify(rg)})`);
    }
    const containerName = args.containerName ?? DEFAULT_CONTAINER;
    if (!/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(containerName)) {
        fail(`containerName must be 3-63 lowercase letters, digits and single '-' between them (got ${JSON.stringify(containerName)})`);
    }
    const immutabilityDays = wholeDays(args.immutabilityDays ?? 7, "immutabilityDays", 1, MAX_IMMUTABILITY_DAYS);
    const dailyRetentionDays = wholeDays(
        args.dailyRetentionDays ?? Math.max(7, immutabilityDays), "dailyRetentionDays", 1, MAX_IMMUTABILITY_DAYS);
    if (dailyRetentionDays < immutabilityDays) {
        // Lifecycle deletes of blobs still under the policy fail; the rule would be a lie.
        fail(`dailyRetentionDays must be ≥ immutabilityDays (${immutabilityDays}): blobs cannot be deleted while immutable (got ${dailyRetentionDays})`);
    }
    const monthlyArchiveMonths = wholeDays(args.monthlyArchiveMonths ?? 12, "monthlyArchiveMonths", 1, 1200, "months");
    const lock = args.lockImmutabilityPolicy ?? false;
    if (typeof lock !== "boolean") fail(`lockImmutabilityPolicy must be true or false (got ${JSON.stringify(lock)})`);
    const protect = args.protect ?? args.environment === "prod";
    return {
        containerName,
        immutabilityDays,
        lockImmutabilityPolicy: lock,
        dailyRetentionDays,
        monthlyArchiveMonths,
        // Soft delete covers at least the immutable window, within Azure's bounds.
        softDeleteDays: Math.min(MAX_SOFT_DELETE_DAYS, Math.max(MIN_SOFT_DELETE_DAYS, immutabilityDays)),
        protect,
    };
}

/**
 * Lifecycle rules mirroring the S3 vault. Prefixes start with the container name (Azure's rule). With
 * versioning on, deleting a base blob only turns it into a previous version, so the version rule is
 * what finally frees the data (one day after the base blob's expiry).
 */
export function lifecycleRules(env: string, s: ArchiveVaultSettings): azureInputs.storage.ManagementPolicyRuleArgs[] {
    const c = s.containerName;
    return [
        {
            name: "daily-backups-expire",
            enabled: true,
            type: storage.RuleType.Lifecycle,
            definition: {
                filters: { blobTypes: ["blockBlob"], prefixMatch: [`${c}/db/${env}/`, `${c}/storage/${env}/`] },
                actions: { baseBlob: { delete: { daysAfterCreationGreaterThan: s.dailyRetentionDays } } },
            },
        },
        {
            name: "monthly-archives",
            enabled: true,
            type: storage.RuleType.Lifecycle,
            definition: {
                filters: { blobTypes: ["blockBlob"], prefixMatch: [`${c}/monthly/`] },
                actions: {
                    baseBlob: {
                        tierToArchive: { daysAfterCreationGreaterThan: 1 },
                        delete: { daysAfterCreationGreaterThan: s.monthlyArchiveMonths * DAYS_PER_MONTH },
                    },
                },
            },
        },
        {
            name: "old-versions-expire",
            enabled: true,
            type: storage.RuleType.Lifecycle,
            definition: {
                filters: { blobTypes: ["blockBlob"], prefixMatch: [`${c}/`] },
                actions: { version: { delete: { daysAfterCreationGreaterThan: s.dailyRetentionDays + 1 } } },
            },
        },
    ];
}

/** The Pulumi logical name of the account: when Pulumi generates the account name it appends 8
 * characters to this, and Azure accepts only lowercase letters and digits. */
function accountLogicalName(name: string): string {
    const base = name.toLowerCase().replace(/[^a-z0-9]/g, "");
    return (base.length >= 3 ? base : `archive${base}`).slice(0, 16);
}

export class ArchiveVault extends pulumi.ComponentResource {
    public readonly resourceGroupName: pulumi.Output<string>;
    public readonly storageAccountName: pulumi.Output<string>;
    public readonly containerName: pulumi.Output<string>;
    public readonly primaryBlobEndpoint: pulumi.Output<string>;
    public readonly immutabilityDays: pulumi.Output<number>;
    /** What Azure reports: true only once the policy's state is Locked. */
    public readonly immutabilityLocked: pulumi.Output<boolean>;

    constructor(name: string, args: ArchiveVaultArgs, opts?: pulumi.ComponentResourceOptions) {
        super("supabase-dr:azure:ArchiveVault", name, {}, opts);
        const s = archiveVaultSettings(args);
        const env = args.environment;
        const tags = { ...args.tags, environment: env, purpose: "supabase-backup-archive" };
        const guarded = { parent: this, protect: s.protect };

        const resourceGroupName: pulumi.Output<string> = args.resourceGroupName !== undefined
            ? pulumi.output(args.resourceGroupName)
            : new resources.ResourceGroup(`${name}-rg`, { location: args.location, tags }, guarded).name;

        const account = new storage.StorageAccount(accountLogicalName(name), {
            resourceGroupName,
            accountName: args.accountName,
            location: args.location,
            kind: storage.Kind.StorageV2,
            sku: { name: storage.SkuName.Standard_GRS },
            accessTier: storage.AccessTier.Hot,
            enableHttpsTrafficOnly: true,
            minimumTlsVersion: storage.MinimumTlsVersion.TLS1_2,
            allowBlobPublicAccess: false,
            allowSharedKeyAccess: false,
            defaultToOAuthAuthentication: true,
            allowCrossTenantReplication: false,
            publicNetworkAccess: storage.PublicNetworkAccess.Enabled,
            tags,
        }, guarded);

        const blobService = new storage.BlobServiceProperties(`${name}-blob-service`, {
            resourceGroupName,
            accountName: account.name,
            blobServicesName: "default",
            isVersioningEnabled: true,
            deleteRetentionPolicy: { enabled: true, days: s.softDeleteDays },
            containerDeleteRetentionPolicy: { enabled: true, days: s.softDeleteDays },
        }, { parent: this });

        const container = new storage.BlobContainer(`${name}-container`, {
            resourceGroupName,
            accountName: account.name,
            containerName: s.containerName,
            publicAccess: storage.PublicAccess.None,
        }, { ...guarded, dependsOn: [blobService] });

        const policy = new storage.BlobContainerImmutabilityPolicy(`${name}-immutability`, {
            resourceGroupName,
            accountName: account.name,
            containerName: container.name,
            immutabilityPolicyName: "default",
            immutabilityPeriodSinceCreationInDays: s.immutabilityDays,
            // Append writes would let a compromised writer grow a protected blob.
            allowProtectedAppendWrites: false,
        }, guarded);

        new storage.ManagementPolicy(`${name}-lifecycle`, {
            resourceGroupName,
            accountName: account.name,
            managementPolicyName: "default",
            policy: { rules: lifecycleRules(env, s) },
        }, { parent: this, dependsOn: [blobService] });

        let locked: pulumi.Output<boolean> = policy.state.apply((state) => state === "Locked");
        if (s.lockImmutabilityPolicy) {
            const token = authorization.getClientTokenOutput({}, { parent: this }).apply((t) => t.token);
            const lock = new ImmutabilityPolicyLock(`${name}-immutability-lock`, {
                policyId: policy.id,
                token,
            }, { parent: this, dependsOn: [policy] });
            locked = lock.state.apply((state) => state === "Locked");
        }

        this.resourceGroupName = resourceGroupName;
        this.storageAccountName = account.name;
        this.containerName = container.name;
        this.primaryBlobEndpoint = account.primaryEndpoints.apply((e) => e.blob);
        this.immutabilityDays = pulumi.output(s.immutabilityDays);
        this.immutabilityLocked = locked;
        this.registerOutputs({
            resourceGroupName: this.resourceGroupName,
            storageAccountName: this.storageAccountName,
            containerName: this.containerName,
            primaryBlobEndpoint: this.primaryBlobEndpoint,
            immutabilityDays: this.immutabilityDays,
            immutabilityLocked: this.immutabilityLocked,
        });
    }
}

// Legacy: infrastructure stacks created before the supabase-dr provider package hold the lock as a
// dynamic resource whose serialized forwarder loads this module by path and calls this export
// (dynamic/forwardingProvider.ts). Kept so their next `pulumi up` can delete that old resource (a
// no-op in Azure) while it creates the new one, which adopts the already Locked policy.
export { immutabilityPolicyLockProvider } from "../provider/resources/immutabilityPolicyLock";
