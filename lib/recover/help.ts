// `recover --help` text, per command.
export const GENERAL_HELP = `usage: npm run recover -- <command> [options]
       (exit 0 ok, 1 a check failed, 2 bad usage, 3 refused (nothing changed), 5 a service failed)

Incident recovery (runbook 001). Every command is a dry run unless --apply is given. The live database
comes from the LIVE_DB_URL environment variable only, live Storage from STORAGE_URL and
SUPABASE_SERVICE_ROLE_KEY (never flags: argv is visible to every process).

commands:
  rows       path A: restore specific rows of one table from a backup (diff, then upsert with --apply)
  undo       put back what a rows --apply (or an undo) changed, from its before-image artifact
  freeze     make the application roles read-only on the live database (triage)
  unfreeze   restore the roles' previous settings from the freeze artifact
  storage    path C: restore missing or changed Storage objects of one bucket from a vault snapshot
  storage-undo  put live Storage back as a storage --into live --apply (or a storage-undo) found it,
             from its before-image directory
  schema     path B: restore a backup into a NEW empty database, apply the outstanding migrations,
             verify extensions, RLS, policies and functions, print the environment switch
  rebuild    path D: a NEW Supabase project (Management API), the database from the backup (as
             schema), every bucket from its newest snapshot, then the secret-rotation report

  npm run recover -- <command> --help     documents a command
`;

export const ROWS_HELP = `usage: npm run recover -- rows --backup <path | vault | vault:<key>> --table <schema.table> --key <col[,col]>
                             (--keys <file.csv> | --where "<predicate>") [--columns a,b] [--apply]
                             [--diff-out <file>] [--artifacts <dir>] [--lock-timeout <seconds>]

Restores only what is needed from the backup into a temporary database on a throw-away PostgreSQL
cluster of its own (never on the live server; dropped at the end, also on error), selects the rows,
and prints the diff against live: rows missing live (insert), rows that differ (per column,
old → new), rows identical.

  --backup      a pg_dump custom-format archive (.dump, or gzip'd): only the table is restored;
                a plain .sql / .sql.gz dump or a 'supabase db dump' directory (roles.sql, schema.sql,
                data.sql): restored whole into the temporary database, then the table is read;
                'vault' takes the newest database backup of BACKUP_ENV from the vault BACKUP_BUCKET
                (an S3 bucket or file:///dir), 'vault:<key>' the one a manifest/file key or backup id
                names (db/prod/2026/03/01/backup_20260301020000.manifest.json, backup_20260301020000).
                Every file is checked against its manifest's sha256 (and the vault's record) before
                use; the audit record names the vault keys and sha256s. (A local file named 'vault':
                write ./vault.)
  --key         the key columns; live needs a unique constraint or index on exactly them
  --keys        CSV whose header names the key columns, one key per line
  --where       a SQL predicate run on the temporary copy only (checked to be one expression)
  --columns     compare and restore only these columns on rows that exist live (missing rows are
                inserted whole)
  --diff-out    write the diff (it holds row values) to this file (mode 0600) instead of stdout
  --apply       in ONE transaction on live: lock the rows, write the before-image of every touched
                row to <artifacts>/before-*.jsonl (fsynced) first, INSERT … ON CONFLICT (key) DO
                UPDATE, check all constraints (a foreign-key violation rolls back and names the
                constraint), commit. Running it again changes nothing. Live triggers fire, as in the
                runbook's manual upsert.
  --artifacts   before-images and audit records (who, when, what, how many, backup sha256);
                default ./recover-artifacts
  --lock-timeout  seconds to wait for row locks on live (default 10)

Refuses: a key that is not unique (or is NULL) in the backup, columns that differ between the
backup's table and live's (named), a live table without a unique index on the key.
Environment: LIVE_DB_URL (required); RECOVER_TEMP_ADMIN_URL (optional: superuser URI of a
throw-away server for the temporary copy instead of a local cluster); with --backup vault:
BACKUP_BUCKET, BACKUP_ENV, AWS_* / S3_ENDPOINT as for the nightly job.
`;

export const SCHEMA_HELP = `usage: npm run recover -- schema --backup <path | vault | vault:<key>> --migrations <dir>
                             [--to <version>] [--baseline <version>] [--apply] [--artifacts <dir>]

Runbook 001 path B (bad migration, broken schema): restores the backup into a NEW, EMPTY database
(TARGET_DB_URL), applies the migrations the backup lacks, verifies, and prints which variables to
change to use it. It never switches production, and never writes live.

The dry run (default) writes nothing and prints the plan: the backup's last applied migration (from
supabase_migrations.schema_migrations in the backup), the migration files to apply, the checks.
  --backup      as for rows: a custom-format, SQL or SQL.gz dump, a 'supabase db dump' directory,
                or vault / vault:<key> (verified against its manifest's sha256)
  --migrations  a Supabase migrations directory: <version>_<name>.sql files, applied in file-name
                order as 'supabase db push' applies them (other files are skipped and listed)
  --to          apply up to and including this version (default: all outstanding); later ones are
                listed as left for later
  --baseline    for a backup without a migration history (a 'supabase db dump' trio never has one):
                the last migration the backup contains; the versions up to it are recorded as applied
                (as 'supabase migration repair --status applied' records them) without running
  --apply       1. restore (checksums first; the drill's restore: pg_restore --no-owner, or psql
                   --single-transaction; Supabase roles and platform schemas where needed; a target
                   that has auth.users already — a new Supabase project — keeps its own platform:
                   give it a 'supabase db dump' backup);
                2. each outstanding migration in ONE transaction with its history row (version, name,
                   statements — as the CLI records them), RESET ALL before each; a failing migration
                   is rolled back whole and named with its statement number (exit 1);
                3. verify against the backup's catalogue as restored: every extension, every table
                   with row level security still has it (enabled, and forced where it was), every
                   policy and function still exists, every version is in the history; FAIL names the
                   table, policy or function (exit 1);
                4. an audit record (who, when, target, backup sha256, migrations, verify result) in
                   the artifacts directory, with the restore log and the backup's catalogue.
                Running it again after a failed migration resumes on the same target (it carries a
                marker naming the backup's sha256) and applies only what is still outstanding.
  --artifacts   audit records, restore log, catalogue; default ./recover-artifacts

Refuses: a target that is the LIVE database or the backup's source (by server identity: system
identifier and database oid, else host, port and database), a target that is not empty (names what
it holds), a history version without its file, a file older than the backup's last version that the
backup never applied, --to older than the backup, a migration with BEGIN/COMMIT of its own.
Environment: TARGET_DB_URL (required: the new database, never a flag); LIVE_DB_URL (only read, to
refuse it; required unless the backup's manifest names its source); with --backup vault:
BACKUP_BUCKET, BACKUP_ENV, AWS_* / S3_ENDPOINT.
`;

export const UNDO_HELP = `usage: npm run recover -- undo <artifact.jsonl> [--apply] [--artifacts <dir>] [--lock-timeout <seconds>]

Puts live back as the before-image artifact of a rows --apply recorded it: rows the apply inserted
are deleted, rows it updated are restored. Dry run by default (prints the plan). Refuses, changing
nothing, when LIVE_DB_URL is not the database the artifact was made on or when any row changed
since the apply. One transaction; the undo keeps its own before-image, so it can be undone too.
`;

export const FREEZE_HELP = `usage: npm run recover -- freeze [--roles a,b] [--apply] [--artifacts <dir>]

Prints, then with --apply runs in one transaction:
  ALTER ROLE <role> IN DATABASE <live db> SET default_transaction_read_only = on
for the application roles (default: anon, authenticated, service_role, authenticator — Supabase's API
roles and PostgREST's login role). The roles' previous per-database settings are saved to
<artifacts>/freeze-*.json first; unfreeze puts them back. Refuses superusers and the role LIVE_DB_URL
logs in as. Takes effect for sessions that log in after it; open sessions and transactions that ask for
READ WRITE explicitly (PostgREST's write requests) are not stopped: switch the application to
read-only as well.
`;

export const UNFREEZE_HELP = `usage: npm run recover -- unfreeze <freeze-artifact.json> [--apply] [--artifacts <dir>]

Restores exactly the settings the freeze found (RESET where there was none). Refuses when a role's
setting is no longer the freeze's.
`;

export const STORAGE_HELP = `usage: npm run recover -- storage --bucket <name> (--into live | --into review)
                             [--from <YYYY-MM-DD|newest> | --monthly <YYYY-MM>]
                             [--since <ISO> --until <ISO>] [--prefix <p>] [--only-missing]
                             [--signed-url-sample <n>] [--apply] [--artifacts <dir>]

Restores objects of one bucket from a storage snapshot in the vault. The dry run (default) lists the
snapshot objects that are missing in the live bucket or whose content differs (the live object is
streamed and its sha256 compared with the manifest's; content type and cache control are compared
too), by name only, never contents, and changes nothing. Progress goes to stderr.

  --bucket      the live bucket, also the snapshot's (storage/<BACKUP_ENV>/<bucket>/…)
  --from        the snapshot of that day (UTC); default newest: the latest daily snapshot of the last
                35 days
  --monthly     runbook 004's monthly archive of that month (monthly/storage/…) instead
  --since/--until  date range: only objects whose last-modified time recorded in the snapshot (when
                the object was last written before the snapshot, not when it was lost) is at or after
                --since and before --until. A date alone is midnight UTC; a time needs a zone (Z or
                +hh:mm). Objects the snapshot recorded without a time are included and counted.
  --prefix      only keys starting with this string (end it in '/' for a folder)
  --into live   --apply uploads the listed objects into the LIVE bucket with upsert, the original
                content type and cache control. The previous content of every live object it
                overwrites is downloaded first into <artifacts>/before-storage-<bucket>-*/ (files
                0600; index.json maps keys to files and records what the restore wrote and which
                objects it added) so the change can be undone: recover storage-undo <that directory>.
                Nothing live is ever deleted; live objects outside the selection are untouched.
                Refuses when the live bucket does not exist (it never creates one).
  --into review --apply restores the listed objects into the private bucket
                restored-<bucket>-<yyyyMMdd> instead, which it creates with an ownership marker; it
                refuses a same-name bucket without its marker. The bucket's owner token is kept in
                <artifacts>/review-owner-<bucket>.token (0600): a retry continues in the same bucket.
  --only-missing  restore only objects missing live (runbook 001's loop); changed ones are listed
                and left as they are. It overwrites nothing and keeps no before-image, so
                storage-undo cannot remove what it added
  --signed-url-sample  after the apply, this many restored objects (default 5) are fetched through a
                signed URL created with the Storage API (valid 60 s, never printed) and checked by
                sha256: "reachable" is what the app's users will see
  --apply       vault copies are checked against the manifest's sha256 before upload; afterwards every
                restored object is downloaded back and its sha256 verified; an audit record (who,
                when, bucket, objects, bytes, before-image, snapshot manifest key and its sha256) is
                written to the artifacts directory. Running it again finds nothing left to do.
  --artifacts   before-images, audit records, review owner tokens; default ./recover-artifacts

Exit 1 also when a sampled signed URL is not reachable: the objects are restored and verified, but
Storage does not serve them to the app (the failing keys and HTTP statuses are printed).
Environment: STORAGE_URL (<SUPABASE_URL>/storage/v1) and SUPABASE_SERVICE_ROLE_KEY of the live
project; BACKUP_BUCKET (s3 bucket, or file:///dir for a local vault), BACKUP_ENV, AWS_* / S3_ENDPOINT
as for the nightly job; NOW (ISO time) for rehearsals over a simulated calendar.
`;

export const STORAGE_UNDO_HELP = `usage: npm run recover -- storage-undo <before-image-dir> [--force-changed] [--remove-added]
                             [--apply] [--artifacts <dir>]

Puts live Storage back as a 'storage --into live --apply' found it, from the before-image directory
it kept (<artifacts>/before-storage-<bucket>-*/, named in its output and audit record). The bucket
and the Storage host come from the before-image's index.json; it refuses (exit 3) when STORAGE_URL
points at another Storage than the one the restore wrote to, or the live bucket is gone.
The dry run (default) streams each object of the before-image from live, hashes it, and lists:
  ~ restore        live still holds what the restore wrote: put back (the kept file, with its
                   original content type and cache control)
  = already        live already is as before the restore: nothing to do
  ! changed since  live holds neither: someone wrote it after the restore. Left as it is and named
                   (also in the audit record) unless --force-changed
  + added          the restore created it (it was missing) and live still holds that: kept unless
                   --remove-added
  - remove         as '+ added', with --remove-added: removed
  ! damaged        the kept file is not what the index recorded (sha256): never uploaded
Object names, sizes and types only, never contents; nothing is written.
  --force-changed  also put back objects changed since the restore (their current content is kept
                   in the undo's own before-image first); objects the restore added are never
                   removed when they changed since
  --remove-added   also remove objects the restore added while they still hold what it wrote (their
                   content is kept in the undo's own before-image first). Without it they stay:
                   the restore brought back what was lost, and the undo keeps that unless told
  --apply          1. every kept file to upload is checked against the index's sha256 first; one
                   damaged file refuses the whole undo before anything is written (exit 1);
                   2. what live holds for every object the undo writes or removes is kept first in
                   <artifacts>/before-storage-undo-<bucket>-*/ (the same format): that undo can be
                   undone by running storage-undo on it;
                   3. upsert with the original content type and cache control, removals;
                   4. every written object is read back: sha256, content type and cache control
                   (or its absence) checked (exit 1 if one differs);
                   5. an audit record (who, when, bucket, counts, the before-image and the sha256 of
                   its index, the keys left as changed since, the undo's own before-image).
                   Running it again finds nothing left to do.
  --artifacts      the undo's before-image and audit record; default ./recover-artifacts

A before-image made by an earlier version records neither what the restore wrote nor what it
added: objects that are not already as before are then all '! changed since'.
Environment: STORAGE_URL (<SUPABASE_URL>/storage/v1) and SUPABASE_SERVICE_ROLE_KEY of the live
project (never flags). The vault is not needed: the before-image holds the content.
`;

export const REBUILD_HELP = `usage: npm run recover -- rebuild --backup <path | vault | vault:<key>> --migrations <dir>
                             --storage-env <env> --region <region> [--org <slug>] [--project-name <n>]
                             [--buckets a,b] [--baseline <version>] [--old-project <ref>]
                             [--secret-values <file>] [--apply] [--artifacts <dir>]

Runbook 001 path D (the project is lost or unusable). The dry run (default) reads the vault and the
old project's secret names, prints the plan — the project to create, the backup to restore, every
bucket with its newest snapshot's object count, the secrets to carry over — and creates nothing.
With --apply:
  1. creates a NEW project through the Management API (name --project-name, default
     rebuild-<timestamp>-<hex>; a generated database password kept in
     <artifacts>/rebuild-<name>.dbpass, mode 0600) and waits until it and its db, rest, auth and
     storage services are healthy. The state is recorded in <artifacts>/rebuild-state.json BEFORE the
     create: running the same command again after any failure resumes with that project (found by
     ref, or by its unique name when the create's answer was lost), never a second one;
  2. restores the database into it exactly as 'recover schema' does (checksums, the outstanding
     migrations each in one transaction, extensions/RLS/policies/functions verified; a retry resumes);
  3. restores every bucket that has a daily snapshot under storage/<env>/ (or --buckets) from its
     newest snapshot into the new project's Storage, with the bucket's public flag, each object's
     content type and cache control; every object is downloaded back and its sha256 checked; a retry
     uploads only what is missing or differs;
  4. project (Edge Function) secrets: the Management API returns only their sha256, never values,
     so values come from --secret-values (KEY=VALUE lines); with --old-project each value must match
     the old project's sha256 before it is set on the new project; the others are listed to set by hand;
  5. writes <artifacts>/rebuild-report-*.md: the new endpoints (API URL, Storage URL, database host,
     pooler URL without password) and the rotation checklist — rotated automatically (API keys, JWT
     secret, database password), secrets set, and what must be rotated by hand (email and payment
     provider keys, webhook endpoints, cron secrets, OAuth redirect URLs, the app's environment) —
     names only, never values; and an audit record.
The old project is never deleted or changed; only its secrets' names and digests are read.
  --storage-env  the env the nightly job snapshots Storage under (storage/<env>/<bucket>/…)
  --region       region code (eu-central-1, …) or smart group (americas, emea, apac)
  --org          organization slug (or SUPABASE_ORG)
  --baseline     as for schema: for a backup without its own migration history
Environment: SUPABASE_ACCESS_TOKEN (required, a personal access token, never a flag); SUPABASE_ORG;
SUPABASE_API_URL (default https://api.supabase.com); SUPABASE_PROJECT_API_URL (template with {ref},
default https://{ref}.supabase.co); BACKUP_BUCKET, AWS_* / S3_ENDPOINT (the vault), BACKUP_ENV (with
--backup vault); LIVE_DB_URL (optional: only read, to refuse it as a target); NOW for rehearsals.
`;

export function helpFor(topic?: string): string {
    switch (topic) {
        case "storage":
            return STORAGE_HELP;
        case "storage-undo":
            return STORAGE_UNDO_HELP;
        case "rows":
            return ROWS_HELP;
        case "undo":
            return UNDO_HELP;
        case "freeze":
            return FREEZE_HELP;
        case "unfreeze":
            return UNFREEZE_HELP;
        case "schema":
            return SCHEMA_HELP;
        case "rebuild":
            return REBUILD_HELP;
        default:
            return GENERAL_HELP;
    }
}
