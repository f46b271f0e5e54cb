/**
 * The live view of `deno task demo`: polls every agent's status over its control socket about
 * once a second, turns changes into events, and draws the table, the notes of the tour's steps
 * and the latest events. On a TTY the screen is cleared and redrawn (plain ANSI); otherwise
 * events and notes are appended as lines as they happen, with the table every
 * `APPEND_TABLE_EVERY_MS`.
 *
 * Ownership: `start()` begins the poll loop; `stop()` ends it and waits for the last poll (every
 * status request is bounded by `STATUS_TIMEOUT_MS`).
 *
 * @module
 */
import type { AgentStatus } from "../lib/agent/agent_status.ts";
import { requestStatus } from "../lib/control/control_client.ts";
import type { DemoMember } from "./_demo_net.ts";
import { EventTracker, renderTable } from "./_demo_view.ts";

/** Time between two polls (and redraws). */
export const POLL_INTERVAL_MS = 1_000;
/** Bound of one status request. */
export const STATUS_TIMEOUT_MS = 2_000;
/** In append mode, how often the table is printed. */
export const APPEND_TABLE_EVERY_MS = 10_000;
/** Events kept on screen in TTY mode. */
const SCREEN_EVENTS = 14;

/** Where the view writes. */
export interface LiveOutput {
  /** Writes one line (no newline in `line`). */
  line(line: string): void;
  /** Writes raw text (the TTY redraw). */
  raw(text: string): void;
  /** True to clear and redraw; false to append lines. */
  isTty: boolean;
}

/** The live view; see the module doc. */
export class LiveView {
  readonly #members: readonly DemoMember[];
  readonly #out: LiveOutput;
  readonly #now: () => number;
  readonly tracker: EventTracker;
  readonly #events: string[] = [];
  readonly #notes: string[] = [];
  #phase = "starting";
  #statuses: (AgentStatus | undefined)[];
  readonly #exited = new Set<number>();
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #lastTableMs = -Infinity;
  #silent = false;

  /** A view of `members`; `nowMs` is the demo's clock (ms). */
  constructor(members: readonly DemoMember[], out: LiveOutput, nowMs: () => number) {
    this.#members = members;
    this.#out = out;
    this.#now = nowMs;
    this.tracker = new EventTracker(members.map((m) => m.agent));
    this.#statuses = members.map(() => undefined);
  }

  /** The latest status of each agent (undefined where none could be read yet). */
  get statuses(): readonly (AgentStatus | undefined)[] {
    return this.#statuses;
  }

  /** Sets the line that says what the tour is doing. */
  phase(text: string): void {
    if (this.#silent) return;
    this.#phase = text;
    if (!this.#out.isTty) this.#out.line(`== ${text}`);
    else this.#draw();
  }

  /** Adds lines to the notes (kept on screen for the rest of the tour). */
  note(...lines: string[]): void {
    if (this.#silent) return;
    this.#notes.push(...lines);
    if (!this.#out.isTty) { for (const l of lines) this.#out.line(l); }
    else this.#draw();
  }

  /** Starts polling. */
  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Polls now (and redraws); resolves when done. */
  async pollNow(): Promise<void> {
    const readAtMs: number[] = [];
    const all = await Promise.all(this.#members.map(async (m, i) => {
      if (!m.proc.alive) {
        if (!this.#exited.has(i)) {
          this.#exited.add(i);
          this.#event(`${m.agent.name} EXITED unexpectedly\n${m.proc.logs().slice(-2_000)}`);
        }
        return undefined;
      }
      try {
        const s = await requestStatus(m.proc.stateDir, {
          timeoutMs: STATUS_TIMEOUT_MS,
        }) as AgentStatus;
        readAtMs[i] = this.#now();
        return s;
      } catch {
        return this.#statuses[i];
      }
    }));
    this.#statuses = all;
    for (const e of this.tracker.update(this.#now(), all, readAtMs)) this.#event(e);
    this.#draw();
  }

  /**
   * Stops polling and writes nothing more (on Ctrl-C: the agents got the signal too and are
   * exiting, which is no news). `stop()` still waits for the loop.
   */
  silence(): void {
    this.#silent = true;
    this.#running = false;
    this.#wake?.();
  }

  /** Stops polling and waits for the loop to end. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      await this.pollNow();
      if (!this.#running) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, POLL_INTERVAL_MS);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  #stamp(): string {
    return `[${(this.#now() / 1000).toFixed(1).padStart(5)} s]`;
  }

  #event(text: string): void {
    if (this.#silent) return;
    const line = `${this.#stamp()} ${text}`;
    this.#events.push(line);
    if (!this.#out.isTty) this.#out.line(line);
  }

  /** The table as lines (for the final summary too). */
  table(): string[] {
    return renderTable(this.#members.map((m) => m.agent), this.#statuses);
  }

  #draw(): void {
    if (this.#silent) return;
    if (!this.#out.isTty) {
      if (this.#now() - this.#lastTableMs >= APPEND_TABLE_EVERY_MS) {
        this.#lastTableMs = this.#now();
        for (const l of this.table()) this.#out.line(`  ${l}`);
      }
      return;
    }
    const lines = [
      `ipop demo  ${this.#stamp()}  ${this.#phase}   (Ctrl-C stops and cleans up)`,
      "",
      ...this.table(),
      "",
      ...this.#notes,
      ...(this.#notes.length > 0 ? [""] : []),
      "events:",
      ...this.#events.slice(-SCREEN_EVENTS),
    ];
    this.#out.raw(`\x1b[H\x1b[2J${lines.join("\n")}\n`);
  }
}
