// Drill steps are one-shot: a restore or a validation is never "updated" in place. Any input change
// means doing the step again, so diff asks for a replacement of every changed input.
import type * as pulumi from "@pulumi/pulumi";

export function replaceOnAnyChange(olds: Record<string, unknown>, news: Record<string, unknown>): pulumi.dynamic.DiffResult {
    const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
    const replaces = [...keys].filter(
        (k) => k in news && JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null),
    );
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
}
