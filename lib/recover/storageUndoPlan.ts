// What `recover storage-undo` does with each object of a before-image, decided from three states:
// before (what the write found: the kept file, or nothing), written (what the write put there; null
// when it removed the object) and live now.
//   live = before                 → "= already": nothing to do (undone already, or never written);
//   live = written                → "~ restore": put before back (upload the kept file, or, for an
//                                   object the write added, remove it: only with --remove-added);
//   anything else                 → "! changed since": someone wrote it after; left alone and named,
//                                   overwritten only with --force-changed, never removed.
// "=" compares the content's sha256 and size, the content type, and the cache control where it was
// recorded: a restore that only fixed a content type is a write like any other. A before-image of an
// earlier version records no `written`: then nothing can be told apart from a later write, and every
// object not already as before is "changed since".
import type { BeforeImageEntry, StoredObjectState } from "./storageBeforeImage";
import type { LiveObject } from "./storageUndoLive";
import { printableKey } from "./storageSelect";

export type UndoKind = "restore" | "already" | "changed" | "added";

export interface UndoItem {
    key: string;
    /** What the write found (its kept file), or null: the object did not exist. */
    before: BeforeImageEntry | null;
    /** What the write left; null: it removed the object; undefined: the index does not say. */
    written: StoredObjectState | null | undefined;
    live: LiveObject | null;
    kind: UndoKind;
    /** What an apply does with it; undefined: leaves it as it is. */
    action?: "upload" | "remove";
    /** The kept file is not what the index recorded: the apply refuses while it would be uploaded. */
    damaged?: string;
}

export interface UndoFlags {
    forceChanged: boolean;
    removeAdded: boolean;
}

/** Whether live holds exactly this state (both absent counts). */
export function holds(live: LiveObject | null, state: StoredObjectState | null): boolean {
    if (!live || !state) return !live && !state;
    return (
        live.sha256 === state.sha256 &&
        live.bytes === state.bytes &&
        live.contentType === state.contentType &&
        (state.cacheControl === undefined || live.cacheControl === state.cacheControl)
    );
}

export function classify(key: string, before: BeforeImageEntry | null, written: StoredObjectState | null | undefined, live: LiveObject | null, flags: UndoFlags): UndoItem {
    const item: UndoItem = { key, before, written, live, kind: "changed" };
    if (holds(live, before)) item.kind = "already";
    else if (written !== undefined && holds(live, written)) {
        item.kind = before ? "restore" : "added";
        if (before) item.action = "upload";
        else if (flags.removeAdded) item.action = "remove";
    } else if (flags.forceChanged && before) {
        item.action = "upload";
    }
    return item;
}

function describeState(s: StoredObjectState): string {
    return `${s.bytes} bytes, ${s.contentType}${s.cacheControl !== undefined ? `, ${s.cacheControl}` : ""}`;
}

function describeLive(live: LiveObject | null): string {
    return live ? `live ${describeState(live)}${live.lastModified ? `, written ${live.lastModified}` : ""}` : "live: no such object now";
}

/** How the plan names the write being undone and whether its index records what it wrote. */
export interface PlanContext {
    writer: "restore" | "undo";
    recordsWrites: boolean;
}

export function planLine(item: UndoItem, ctx: PlanContext): string {
    const key = printableKey(item.key);
    const w = ctx.writer;
    if (item.damaged) return `! damaged  ${key}  (${item.damaged}: never uploaded; the apply refuses while it is)`;
    switch (item.kind) {
        case "already":
            return `= already  ${key}`;
        case "restore":
            return `~ restore  ${key}  (live as the ${w} wrote it; put back: ${item.before ? describeState(item.before) : "absent"})`;
        case "added":
            return item.action === "remove"
                ? `- remove   ${key}  (added by the ${w}, live as it wrote it; its content is kept first)`
                : `+ added    ${key}  (added by the ${w}, live as it wrote it; kept: --remove-added removes it)`;
        case "changed": {
            const why = ctx.recordsWrites ? "" : `; the before-image does not record what the ${w} wrote`;
            const then = item.action === "upload"
                ? `--force-changed: overwritten with ${describeState(item.before!)}`
                : item.before
                  ? "left as it is: --force-changed overwrites it"
                  : `added by the ${w} and written since: left as it is`;
            return `! changed since  ${key}  (${describeLive(item.live)}${why}; ${then})`;
        }
    }
}

export interface UndoCounts {
    upload: number;
    remove: number;
    already: number;
    changed: number;
    /** Changed since, overwritten because of --force-changed. */
    forced: number;
    /** Added by the restore and kept (no --remove-added). */
    addedKept: number;
    damaged: number;
}

export function countItems(items: UndoItem[]): UndoCounts {
    const n = (p: (i: UndoItem) => boolean) => items.filter(p).length;
    return {
        upload: n((i) => i.action === "upload"),
        remove: n((i) => i.action === "remove"),
        already: n((i) => i.kind === "already"),
        changed: n((i) => i.kind === "changed"),
        forced: n((i) => i.kind === "changed" && i.action === "upload"),
        addedKept: n((i) => i.kind === "added" && i.action === undefined),
        damaged: n((i) => i.damaged !== undefined),
    };
}

export function summarize(bucket: string, items: UndoItem[], applied: boolean, writer: PlanContext["writer"]): string {
    const c = countItems(items);
    const parts = [`${c.upload} ${applied ? "put back" : "to put back"}`, `${c.remove} ${applied ? "removed" : "to remove"}`, `${c.already} already as before`];
    if (c.changed > 0) parts.push(`${c.changed} changed since the ${writer} (${c.forced > 0 ? `${c.forced} overwritten with --force-changed, ` : ""}${c.changed - c.forced} left as they are)`);
    if (c.addedKept > 0) parts.push(`${c.addedKept} added by the ${writer} and kept (--remove-added removes them)`);
    if (c.damaged > 0) parts.push(`${c.damaged} with a damaged before-image file`);
    return `storage-undo on bucket ${bucket}: ${parts.join(", ")}`;
}
