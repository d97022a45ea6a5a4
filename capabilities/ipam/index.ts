// The pure address core: IP parsing, pool layout, allocation, MAC derivation. No Kubernetes here.
export type { IPFamily, ParsedCIDR, ParsedIP } from "./address";
export {
  MAX_POOL_NAME_LENGTH,
  allocationName,
  canonicalIP,
  encodeAddress,
  familyBits,
  formatCIDR,
  formatIP,
  maxValue,
  parseAllocationName,
  parseCIDR,
  parseIP,
  prefixSize,
} from "./address";
export type { AllocateResult, AllocationRecord, PoolAllocatorOptions, RebuildResult } from "./allocator";
export { PoolAllocator } from "./allocator";
export type { IpamErrorCode } from "./errors";
export {
  AddressExcludedError,
  AddressOutOfRangeError,
  AddressTakenError,
  InvalidAddressError,
  InvalidPoolError,
  IpamError,
  OwnerConflictError,
  PoolExhaustedError,
} from "./errors";
export { isValidUnicastMac, macFor, macKey, normalizeMac } from "./mac";
export type { PoolLayout, PoolSpecInput, Reservation, Unusable } from "./pool-layout";
export { poolLayout, validatePoolSpec, whyUnusable } from "./pool-layout";
export type { Interval, IntervalInput } from "./range-set";
export { RangeSet } from "./range-set";
