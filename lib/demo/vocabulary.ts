// Word lists the demo data is drawn from. Content must look like an app's (names, sentences, tags)
// so that checksums, masking and compression behave as they would on real data, and it must be
// fixed here, not random, so that two seeds at the same scale are byte-for-byte identical.
import { quoteLiteral } from "../postgres/connection";

export const FIRST_NAMES = [
    "Ada", "Alan", "Amara", "Anika", "Ben", "Bianca", "Carlos", "Chen", "Chloe", "Dara", "David", "Diego",
    "Elena", "Emeka", "Erik", "Fatima", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jamal", "Jana",
    "Jonas", "Kai", "Keiko", "Lars", "Layla", "Leo", "Lina", "Luca", "Maya", "Mateo", "Mei", "Mila", "Nadia",
    "Noah", "Nora", "Olga", "Omar", "Priya", "Quinn", "Rafael", "Rosa", "Sami", "Sara", "Sofia", "Tariq",
    "Theo", "Uma", "Victor", "Wen", "Yara", "Yusuf", "Zoe",
];

export const LAST_NAMES = [
    "Abbott", "Adeyemi", "Alvarez", "Andersen", "Baker", "Bauer", "Chen", "Costa", "Dubois", "Eriksen",
    "Fischer", "Garcia", "Gupta", "Hansen", "Hoffmann", "Ibrahim", "Ito", "Jensen", "Kim", "Kowalski",
    "Larsen", "Lopez", "Martin", "Meyer", "Moreau", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen",
    "Patel", "Petrov", "Quinn", "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Tanaka", "Torres", "Vogel",
    "Wagner", "Weber", "Williams", "Yilmaz", "Zhang",
];

export const EMAIL_DOMAINS = ["example.com", "example.org", "mail.example.net", "corp.example.io"];

export const LOCALES = ["en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "pt-BR", "ja-JP"];

// Sentences are built from these; mixed vocabulary of the apps the tables belong to.
export const WORDS = [
    "the", "a", "our", "each", "every", "new", "weekly", "quarterly", "shared", "critical", "pending", "final",
    "backup", "restore", "snapshot", "replica", "vault", "policy", "schedule", "window", "report", "budget",
    "invoice", "customer", "student", "lesson", "module", "quiz", "review", "release", "deploy", "migration",
    "schema", "table", "index", "query", "dashboard", "metric", "alert", "incident", "runbook", "checklist",
    "document", "draft", "comment", "approval", "request", "ticket", "sprint", "roadmap", "milestone",
    "feature", "bug", "fix", "test", "build", "pipeline", "bucket", "upload", "photo", "contract", "team",
    "meeting", "agenda", "note", "summary", "course", "chapter", "exercise", "grade", "feedback", "progress",
    "should", "must", "will", "can", "needs", "includes", "covers", "explains", "tracks", "updates", "links",
    "checks", "lists", "compares", "describes", "requires", "before", "after", "during", "with", "without",
    "for", "from", "into", "about", "across", "between", "and", "or", "but", "then", "also", "only",
    "quickly", "carefully", "again", "today", "tomorrow", "monday", "friday", "morning", "evening", "soon",
    "clear", "simple", "detailed", "secure", "stable", "slow", "fast", "large", "small", "complete", "open",
];

export const TASK_VERBS = [
    "Review", "Update", "Draft", "Schedule", "Prepare", "Fix", "Archive", "Plan", "Test", "Email", "Call",
    "Migrate", "Document", "Approve", "Refactor", "Deploy", "Clean up", "Summarize", "Check", "Renew",
];

export const TASK_OBJECTS = [
    "the quarterly report", "invoice batch", "onboarding checklist", "backup policy", "restore drill",
    "team agenda", "customer feedback", "release notes", "staging database", "budget forecast",
    "course outline", "quiz answers", "photo uploads", "contract renewal", "incident postmortem",
    "sprint board", "API keys", "storage buckets", "lesson recordings", "support tickets",
];

export const TASK_STATUSES = ["todo", "in_progress", "done", "archived"];

export const TAGS = [
    "ops", "finance", "lms", "backend", "frontend", "urgent", "later", "customer", "internal", "docs",
    "security", "infra", "design", "sales", "hr",
];

export const DOC_KINDS = ["Runbook", "Meeting notes", "Proposal", "Spec", "Report", "Guide", "Checklist", "Retro"];

export const DOC_TOPICS = [
    "Quarterly backup drill", "Storage bucket layout", "Onboarding new students", "Invoice automation",
    "Release train", "Database migration plan", "Customer support SLA", "Course catalogue refresh",
    "Incident response", "Budget 2024", "Photo upload pipeline", "Access review", "Data retention",
    "Staging masking rules", "Mobile app launch", "Pricing experiment",
];

export const NOTIFICATION_TYPES = ["task_due", "task_assigned", "document_shared", "course_update", "mention", "system"];

export const COURSE_ADJECTIVES = ["Practical", "Modern", "Applied", "Introductory", "Advanced", "Hands-on", "Essential"];

export const COURSE_SUBJECTS = [
    "PostgreSQL", "Data Modelling", "Row Level Security", "Disaster Recovery", "TypeScript", "Cloud Storage",
    "Incident Management", "Product Analytics", "API Design", "Accessibility", "Technical Writing",
];

export const COURSE_LEVELS = ["beginner", "intermediate", "advanced"];

/** `array['a','b']::text[]` — a constant the planner folds once, so picking from it per row is cheap. */
export function sqlTextArray(items: readonly string[]): string {
    return `array[${items.map(quoteLiteral).join(",")}]::text[]`;
}

/** SQL picking one item of a list with a non-negative bigint SQL expression as the choice. */
export function pick(items: readonly string[], choice: string): string {
    return `(${sqlTextArray(items)})[1 + ((${choice}) % ${items.length})]`;
}
