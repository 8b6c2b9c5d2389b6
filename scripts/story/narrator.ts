/** Prints the story's steps and keeps their outcomes; a step whose expectation fails makes the run fail. */
export interface StepOutcome {
  readonly chapter: string;
  readonly title: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly gasUsed: bigint;
  readonly ms: number;
}

export class StoryFailure extends Error {}

/** Thrown by `step` after a failed step has been recorded and printed. */
export class StepFailed extends Error {}

export class Narrator {
  readonly steps: StepOutcome[] = [];
  /** Named measurements of the run (e.g. lock → first refusal at the gate), printed at the end by the caller. */
  readonly figures: Record<string, number> = {};
  private chapter = "";

  constructor(private readonly write: (line: string) => void) {}

  section(title: string): void {
    this.chapter = title;
    this.write(`\n━━ ${title}`);
  }

  figure(name: string, value: number): void {
    this.figures[name] = value;
  }

  say(text: string): void {
    this.write(`   ${text}`);
  }

  /**
   * Runs one step. `fn` returns what to print and the gas it used; it throws StoryFailure (via `expect`) when the
   * system did not behave as the story requires. Any other exception is a failure too.
   */
  async step(title: string, fn: () => Promise<{ detail: string; gasUsed?: bigint }>): Promise<void> {
    const started = performance.now();
    let outcome: StepOutcome;
    try {
      const { detail, gasUsed = 0n } = await fn();
      outcome = { chapter: this.chapter, title, ok: true, detail, gasUsed, ms: performance.now() - started };
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      outcome = { chapter: this.chapter, title, ok: false, detail, gasUsed: 0n, ms: performance.now() - started };
    }
    this.steps.push(outcome);
    const gas = outcome.gasUsed > 0n ? `  gas ${outcome.gasUsed.toLocaleString("en-US")}` : "";
    this.write(` ${outcome.ok ? "✔" : "✘"} ${title}  (${outcome.ms.toFixed(0)} ms${gas})`);
    for (const line of outcome.detail.split("\n")) if (line) this.write(`     ${line}`);
    if (!outcome.ok) throw new StepFailed(title);
  }

  get failed(): StepOutcome[] {
    return this.steps.filter((s) => !s.ok);
  }
}

/** Asserts an expectation of the story. */
export function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new StoryFailure(`expected: ${message}`);
}
