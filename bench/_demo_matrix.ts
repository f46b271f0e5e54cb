/**
 * The ping matrix of `deno task demo`: every agent pings every other once, one row per agent and
 * the rows in parallel (every agent resolves the others' addresses at once). A ping with no reply
 * is tried again up to `MATRIX_RETRY_ROUNDS` times, `MATRIX_RETRY_GAP_MS` apart: with 12 agents,
 * right after the last lease, every ping to one agent sometimes goes unanswered for a few
 * seconds. A ping answered only on a retry shows as "late" ("ok*"), so a slow start stays
 * visible; one never answered fails the step. The pings and the waits go through seams, so the logic runs without namespaces.
 *
 * @module
 */
import type { PingCell } from "./_demo_view.ts";

/** Rounds of retries for pings that got no reply. */
export const MATRIX_RETRY_ROUNDS = 3;
/** Wait before each round of retries. */
export const MATRIX_RETRY_GAP_MS = 2_000;

/** What the matrix needs: a ping and a wait. */
export interface MatrixIo {
  /** One ping from agent `from` to agent `to`'s address; true when it was answered. */
  ping(from: number, to: number): Promise<boolean>;
  /** Resolves after `ms` (or sooner, when the demo is being stopped). */
  wait(ms: number): Promise<void>;
  /** True when the demo is being stopped: no more retries. */
  stopped(): boolean;
}

/** The matrix's cells and how many pings were answered (at once or late), out of `total`. */
export interface MatrixResult {
  /** `cells[i][j]`: agent i pinging agent j; the diagonal is "ok" and never pinged. */
  cells: PingCell[][];
  answered: number;
  late: number;
  total: number;
}

/** Pings every ordered pair of `count` agents (see the module doc). */
export async function pingMatrix(count: number, io: MatrixIo): Promise<MatrixResult> {
  const cells: PingCell[][] = [];
  for (let i = 0; i < count; i++) cells.push(new Array<PingCell>(count).fill("ok"));
  const row = async (i: number, targets: number[], hit: PingCell) => {
    for (const j of targets) cells[i]![j] = await io.ping(i, j) ? hit : "fail";
  };
  const all = (i: number) => [...Array(count).keys()].filter((j) => j !== i);
  await Promise.all(cells.map((_, i) => row(i, all(i), "ok")));
  const failing = (i: number) => all(i).filter((j) => cells[i]![j] === "fail");
  for (let round = 0; round < MATRIX_RETRY_ROUNDS; round++) {
    if (cells.every((_, i) => failing(i).length === 0) || io.stopped()) break;
    await io.wait(MATRIX_RETRY_GAP_MS);
    await Promise.all(cells.map((_, i) => row(i, failing(i), "late")));
  }
  const offDiagonal = cells.flatMap((r, i) => r.filter((_, j) => j !== i));
  return {
    cells,
    answered: offDiagonal.filter((c) => c !== "fail").length,
    late: offDiagonal.filter((c) => c === "late").length,
    total: count * (count - 1),
  };
}
