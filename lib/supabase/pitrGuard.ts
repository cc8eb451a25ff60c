// Guards in front of anything that restores or deletes a hosted project. A PITR restores IN PLACE:
// everything written after the target time is gone. So a drill may only ever restore a project the
// settings list as drillable, and never the production project, whatever the list says (the schema
// refuses prod in the list too; this is checked again here because code, not configuration, must be
// the last word). Runbook 000's scratch project is deleted after its validation: only a project that is
// neither production nor a drillable staging project nor the source, and that was created after the
// recovery target (a dashboard "restore to a new project" of T creates it after T), qualifies.
import { RefusedError } from "../errors";
import { PROJECT_REF, type HostedPitrSettings } from "./pitrSettings";

/** A hosted PITR drill refused by a guard (exit 3): no API call that changes anything was made. */
export class DrillRefused extends RefusedError {
    constructor(message: string) {
        super(message);
        this.name = "DrillRefused";
    }
}

function assertRef(ref: string, what: string): void {
    if (!PROJECT_REF.test(ref)) throw new DrillRefused(`${what} ${JSON.stringify(ref)} is not a project ref (20 lowercase letters)`);
}

/** Throws unless `ref` may be restored in place by a drill. */
export function assertDrillableInPlace(settings: HostedPitrSettings, ref: string): void {
    assertRef(ref, "project");
    if (ref === settings.prodProjectRef) {
        throw new DrillRefused(`refusing to restore project ${ref} in place: it is the production project (prodProjectRef); drills restore staging projects only`);
    }
    if (!settings.drillableProjects.includes(ref)) {
        const listed = settings.drillableProjects.length ? settings.drillableProjects.join(", ") : "none";
        throw new DrillRefused(`refusing to restore project ${ref} in place: it is not listed in drillableProjects (listed: ${listed})`);
    }
}

/** Throws unless `target` can be a hand-restored scratch project validated against `source`'s mark. */
export function assertScratchTarget(settings: HostedPitrSettings, source: string, target: string): void {
    assertRef(source, "source project");
    assertRef(target, "target project");
    if (target === settings.prodProjectRef) throw new DrillRefused(`target project ${target} is the production project: a scratch target must be a new project`);
    if (target === source) throw new DrillRefused(`target project ${target} is the source project itself: a scratch target must be the new project the dashboard restored into`);
    if (settings.drillableProjects.includes(target)) {
        throw new DrillRefused(`target project ${target} is a drillable staging project: a scratch target must be the new project the dashboard restored into`);
    }
}

/** Throws unless the scratch project may be deleted: the guards above, and created after the target time. */
export function assertDeletableScratch(settings: HostedPitrSettings, source: string, target: string, createdAt: string | undefined, targetTime: Date): void {
    assertScratchTarget(settings, source, target);
    const created = createdAt ? Date.parse(createdAt) : Number.NaN;
    if (Number.isNaN(created)) throw new DrillRefused(`refusing to delete project ${target}: the API gave no creation time to prove it is the scratch project`);
    if (created < targetTime.getTime()) {
        throw new DrillRefused(
            `refusing to delete project ${target}: it was created ${new Date(created).toISOString()}, before the recovery target ${targetTime.toISOString()}, so it is not a project restored to that target`,
        );
    }
}
