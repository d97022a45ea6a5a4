// Typed errors of the address core. Callers switch on `code` (it maps onto claim condition
// reasons and admission denials); messages are written for the person who has to fix things.

export type IpamErrorCode = "Exhausted" | "OutOfRange" | "Excluded" | "Taken" | "Conflict" | "InvalidAddress" | "InvalidPool";

export abstract class IpamError extends Error {
  abstract readonly code: IpamErrorCode;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Text that is not an IP address, CIDR, MAC or allocation name of the expected form. */
export class InvalidAddressError extends IpamError {
  readonly code = "InvalidAddress" as const;

  /**
   * @param value the text as given
   * @param reason what is wrong with it, phrased to follow the value ("is not an IPv4 or IPv6 address")
   * @param field where the value came from, for example `spec.gateway`, when known
   * @param fix what to write instead, when there is one obvious answer
   */
  constructor(
    readonly value: string,
    readonly reason: string,
    readonly field?: string,
    readonly fix?: string,
  ) {
    super(`${field ? `${field}: ` : ""}${JSON.stringify(value)} ${reason}${fix ? `; ${fix}` : ""}`);
  }
}

/** A pool spec the layout cannot be computed from; names the field, the value and the fix. */
export class InvalidPoolError extends IpamError {
  readonly code = "InvalidPool" as const;

  constructor(
    readonly field: string,
    readonly value: string,
    readonly reason: string,
    readonly fix: string,
  ) {
    super(`${field}: ${JSON.stringify(value)} ${reason}; ${fix}`);
  }
}

/** Every usable address of the pool is held. */
export class PoolExhaustedError extends IpamError {
  readonly code = "Exhausted" as const;

  constructor(
    readonly pool: string,
    readonly capacity: bigint,
    readonly allocated: number,
    detail = "",
  ) {
    super(`pool ${pool} has no free address: ${allocated} held, capacity ${capacity}${detail}`);
  }
}

/** A requested address outside the pool's CIDR or ranges, or of the other IP family. */
export class AddressOutOfRangeError extends IpamError {
  readonly code = "OutOfRange" as const;

  constructor(
    readonly address: string,
    readonly reason: string,
    readonly pool: string,
  ) {
    super(`${address} cannot be taken from pool ${pool}: it ${reason}`);
  }
}

/** A requested address inside the ranges that is never handed out (gateway, exclude, network, broadcast). */
export class AddressExcludedError extends IpamError {
  readonly code = "Excluded" as const;

  constructor(
    readonly address: string,
    readonly reason: string,
    readonly pool: string,
  ) {
    super(`${address} cannot be taken from pool ${pool}: it ${reason}`);
  }
}

/**
 * A requested address held by another owner. In IPv6 pools `via` names the other address
 * when the clash is on the derived MAC rather than on the address itself.
 */
export class AddressTakenError extends IpamError {
  readonly code = "Taken" as const;

  constructor(
    readonly address: string,
    readonly holder: string,
    readonly pool: string,
    readonly via?: { address: string; mac: string },
  ) {
    super(
      via
        ? `${address} cannot be taken from pool ${pool}: its MAC ${via.mac} is already used by ${via.address}, held by ${holder}`
        : `${address} is already held by ${holder} in pool ${pool}`,
    );
  }
}

/** The owner already holds another address of the pool; an address, once bound, does not move. */
export class OwnerConflictError extends IpamError {
  readonly code = "Conflict" as const;

  constructor(
    readonly owner: string,
    readonly held: string,
    readonly requested: string,
    readonly pool: string,
  ) {
    super(`${owner} already holds ${held} in pool ${pool} and cannot also take ${requested}; release ${held} first`);
  }
}
