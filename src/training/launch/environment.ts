// torchrun's environment contract: a process with RANK and WORLD_SIZE set is one rank of a data-parallel job and
// starts no others. MASTER_ADDR/MASTER_PORT name rank 0's store (defaults 127.0.0.1:29500, as torchrun), LOCAL_RANK
// picks the GPU on its node.
import { z } from 'zod';
import { UserError } from '../../errors.js';

export const DEFAULT_MASTER_ADDR = '127.0.0.1';
export const DEFAULT_MASTER_PORT = 29500;

export interface RankEnvironment {
  rank: number;
  worldSize: number;
  localRank: number;
  masterAddr: string;
  masterPort: number;
}

const count = z.coerce.number().int().nonnegative();
const schema = z.object({
  RANK: count,
  WORLD_SIZE: count.pipe(z.number().positive()),
  LOCAL_RANK: count.optional(),
  MASTER_ADDR: z.string().min(1).default(DEFAULT_MASTER_ADDR),
  MASTER_PORT: count.pipe(z.number().positive().max(65535)).default(DEFAULT_MASTER_PORT),
});

/** This process's place in a job when RANK and WORLD_SIZE are set; null for a process that is no rank. */
export function rankEnvironment(env: NodeJS.ProcessEnv = process.env): RankEnvironment | null {
  if (env.RANK === undefined && env.WORLD_SIZE === undefined) return null;
  if (env.RANK === undefined || env.WORLD_SIZE === undefined) {
    throw new UserError(`${env.RANK === undefined ? 'WORLD_SIZE' : 'RANK'} is set but ${env.RANK === undefined ? 'RANK' : 'WORLD_SIZE'} is not: a rank of a data-parallel job needs both (torchrun's contract), a single-process run neither`);
  }
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`environment variable ${String(issue.path[0])}=${env[String(issue.path[0])] ?? ''}: ${issue.message}`);
  }
  const e = parsed.data;
  if (e.RANK >= e.WORLD_SIZE) throw new UserError(`RANK=${e.RANK} is outside WORLD_SIZE=${e.WORLD_SIZE} (ranks are 0…WORLD_SIZE-1)`);
  return { rank: e.RANK, worldSize: e.WORLD_SIZE, localRank: e.LOCAL_RANK ?? e.RANK, masterAddr: e.MASTER_ADDR, masterPort: e.MASTER_PORT };
}
