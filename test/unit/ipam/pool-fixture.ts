// The allocator the ipam unit tests exercise: a PoolAllocator over a pool spec's layout.
import { PoolAllocator, PoolSpecInput, poolLayout } from "../../../capabilities/ipam";

/** A PoolAllocator of `spec`, named `name` (undefined: unnamed), remembering `rememberReleased` released addresses. */
export const pool = (spec: PoolSpecInput, rememberReleased?: number, name: string | undefined = "p"): PoolAllocator =>
  new PoolAllocator(poolLayout(spec), { name, rememberReleased });
