// The infrastructure stacks' program (prod, staging): what runbooks 001, 003 and 004 assume exists —
// the immutable S3 vault with its KMS key, least-privilege roles for GitHub Actions through OIDC, the
// Azure Blob archive, the WAL archive's pgBackRest repository in the vault (issue 11), and the GitHub
// environment holding the jobs' secrets and variables.
import * as pulumi from "@pulumi/pulumi";
import { ArchiveVault } from "../components/ArchiveVault";
import { BackupAccess } from "../components/BackupAccess";
import { BackupVault } from "../components/BackupVault";
import { DrillAutomation } from "../components/DrillAutomation";
import { PitrRepository } from "../components/PitrRepository";
import { CONFIG_NAMESPACE } from "../lib/drill/config";
import { checkInfraSecrets, INFRA_SECRET_KEYS, INFRA_SETTING_KEYS, parseInfraConfig, type InfraSecretKey } from "../lib/infra/config";

/**
 * Every supabase-dr:* key the stack file sets, without the namespace: settings with their values
 * (objects parsed), secrets by name only (their values stay in the secret Outputs below).
 */
function stackValues(config: pulumi.Config): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    const prefix = `${CONFIG_NAMESPACE}:`;
    for (const full of Object.keys(pulumi.runtime.allConfig())) {
        if (!full.startsWith(prefix)) continue;
        const key = full.slice(prefix.length);
        const setting = (INFRA_SETTING_KEYS as readonly string[]).includes(key);
        values[key] = !setting ? null : key === "environment" ? config.get(key) : config.getObject(key);
    }
    return values;
}

export function infrastructureProgram(): Record<string, pulumi.Output<unknown> | unknown> {
    const config = new pulumi.Config(CONFIG_NAMESPACE);
    const settings = parseInfraConfig(stackValues(config));
    const env = settings.environment;
    const prod = env === "prod";
    const tags = { project: "supabase-dr", environment: env, "managed-by": "pulumi" };

    const secretValues: Partial<Record<InfraSecretKey, pulumi.Output<string>>> = {};
    for (const key of Object.keys(INFRA_SECRET_KEYS) as InfraSecretKey[]) {
        const value = config.getSecret(key);
        if (value) secretValues[key] = value;
    }
    // Form checks run up front on the plain values (errors never quote them); the values themselves
    // only travel on as the secret Outputs above.
    const plain: Partial<Record<InfraSecretKey, string>> = {};
    for (const key of Object.keys(INFRA_SECRET_KEYS) as InfraSecretKey[]) plain[key] = pulumi.runtime.getConfig(`${CONFIG_NAMESPACE}:${key}`);
    checkInfraSecrets(plain, settings.pitr);

    const vault = new BackupVault(`backups-${env}`, {
        environment: env,
        bucketName: settings.aws.bucketName,
        objectLockMode: settings.aws.objectLockMode,
        retentionDays: settings.aws.retentionDays,
        dailyRetentionDays: settings.aws.dailyRetentionDays,
        monthlyArchiveMonths: settings.aws.monthlyArchiveMonths,
        archiveStorageClass: settings.aws.archiveStorageClass,
        tags,
    });

    const outputs: Record<string, pulumi.Output<unknown> | unknown> = {
        environment: env,
        backupBucket: vault.bucketName,
        backupKmsKeyArn: vault.kmsKeyArn,
        objectLockMode: vault.objectLockMode,
        retentionDays: vault.retentionDays,
    };

    if (settings.github) {
        const access = new BackupAccess(`backup-access-${env}`, {
            environment: env,
            bucketArn: vault.bucketArn,
            kmsKeyArn: vault.kmsKeyArn,
            github: {
                owner: settings.github.owner,
                repository: settings.github.repository,
                branch: settings.github.branch,
                environment: settings.github.environment,
                drillEnvironment: settings.github.environment,
            },
            oidcProviderArn: settings.aws.oidcProviderArn,
            tags,
        });
        outputs.backupWriterRoleArn = access.writerRoleArn;
        outputs.drillReaderRoleArn = access.readerRoleArn;
        outputs.retentionAuditorRoleArn = access.auditorRoleArn;

        let pitr: PitrRepository | undefined;
        if (settings.pitr) {
            const region = pulumi.runtime.getConfig("aws:region");
            if (!region) throw new Error("config aws:region is required when supabase-dr:pitr is set: pgBackRest signs its S3 requests for the bucket's region");
            pitr = new PitrRepository(`pitr-${env}`, {
                environment: env,
                bucketName: vault.bucketName,
                bucketArn: vault.bucketArn,
                kmsKeyArn: vault.kmsKeyArn,
                region,
                pitr: settings.pitr,
                github: { owner: settings.github.owner, repository: settings.github.repository, environment: settings.github.environment },
                oidcProviderArn: access.oidcProviderArn,
                tags,
            });
            outputs.pitrRepository = pitr.repository;
            outputs.pitrServerConfig = pitr.serverConfig;
            outputs.pitrWriterRoleArn = pitr.writerRoleArn;
            outputs.pitrReaderRoleArn = pitr.readerRoleArn;
        }

        let archive: ArchiveVault | undefined;
        if (settings.azure) {
            archive = new ArchiveVault(`archive-${env}`, { environment: env, ...settings.azure, tags });
            outputs.archiveStorageAccount = archive.storageAccountName;
            outputs.archiveContainer = archive.containerName;
            outputs.archiveImmutabilityLocked = archive.immutabilityLocked;
        }

        const secrets: Record<string, pulumi.Output<string>> = {};
        for (const [key, value] of Object.entries(secretValues) as [InfraSecretKey, pulumi.Output<string>][]) {
            secrets[INFRA_SECRET_KEYS[key]] = value;
        }
        const variables: Record<string, pulumi.Input<string>> = {
            BACKUP_ENV: env,
            BACKUP_BUCKET: vault.bucketName,
            AWS_BACKUP_WRITER_ROLE_ARN: access.writerRoleArn,
            AWS_DRILL_READER_ROLE_ARN: access.readerRoleArn,
            AWS_RETENTION_AUDITOR_ROLE_ARN: access.auditorRoleArn,
        };
        if (pitr) {
            // .github/workflows/pitr-backup.yml: the roles it assumes and the settings it runs with.
            variables.AWS_PITR_WRITER_ROLE_ARN = pitr.writerRoleArn;
            variables.AWS_PITR_READER_ROLE_ARN = pitr.readerRoleArn;
            variables.PITR_SETTINGS = pitr.jobSettingsJson;
        }
        if (archive) {
            variables.AZURE_STORAGE_ACCOUNT = archive.storageAccountName;
            variables.AZURE_CONTAINER = archive.containerName;
            // The quarterly audit reads the container's immutability policy through ARM (its resource group).
            variables.AZURE_RESOURCE_GROUP = archive.resourceGroupName;
        }
        if (settings.supabase) {
            variables.SUPABASE_ORGANIZATION = settings.supabase.organization;
            variables.SUPABASE_REGION = settings.supabase.region;
            // The nightly backup's storage snapshot and the monthly storage restore rehearsal.
            if (settings.supabase.storageUrl) variables.STORAGE_URL = settings.supabase.storageUrl;
            // supabase-pitr-health.yml's inputs: which project, and its hosted PITR settings.
            if (settings.supabase.projectRef) variables.SUPABASE_PROJECT_REF = settings.supabase.projectRef;
            if (settings.supabase.pitr) variables.SUPABASE_PITR_SETTINGS = JSON.stringify(settings.supabase.pitr);
            if (settings.supabase.storageBuckets) variables.STORAGE_BUCKETS = settings.supabase.storageBuckets.join(",");
        }
        // Unattended jobs: their environment holds the drill's and the backup's secrets. On prod it is
        // protected (main only) but has no reviewers, which would stall scheduled runs.
        const automation = new DrillAutomation(`drill-automation-${env}`, {
            repository: settings.github.repository,
            environment: settings.github.environment,
            secrets,
            variables,
            protectedEnvironment: prod,
            requireReviewers: false,
            deploymentBranch: settings.github.branch,
        });
        outputs.githubEnvironment = automation.environmentName;
        outputs.githubSecretNames = automation.secretNames;

        // `pulumi up` on merge runs in the deploy environment: on prod, with required reviewers.
        if (settings.github.deployEnvironment !== settings.github.environment) {
            if (!secretValues.backendPassphrase) {
                throw new Error(
                    `config supabase-dr:backendPassphrase is required: the ${settings.github.deployEnvironment} deploy environment needs PULUMI_CONFIG_PASSPHRASE (set it with --secret)`,
                );
            }
            const deploy = new DrillAutomation(`deploy-${env}`, {
                repository: settings.github.repository,
                environment: settings.github.deployEnvironment,
                secrets: { PULUMI_CONFIG_PASSPHRASE: secretValues.backendPassphrase },
                protectedEnvironment: prod,
                reviewers: settings.github.reviewers,
                deploymentBranch: settings.github.branch,
            });
            outputs.githubDeployEnvironment = deploy.environmentName;
        }
    }
    return outputs;
}
