// Only the operator writes IPAllocations and IPClaims (and their status). Pure.
import { Findings, ValidationResult, show } from "./findings";

export interface UserInfoLike {
  username?: string;
  groups?: string[];
}

/** What is being written, for the message and the one exception (see below). */
export interface OwnedWrite {
  kind?: string;
  operation?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** For an IPClaim: its status.released (kept by a Retain pool after its VM was deleted). */
  released?: boolean;
}

/**
 * Allows the write only for one of the operator's identities: a username
 * ("system:serviceaccount:vmnet-system:vmnet-operator") or "group:<name>" for a group.
 * The one exception: deleting a released IPClaim (kept by a Retain pool after its VM is gone) is
 * how a user frees its addresses, as the IPPool API documents.
 */
export function validateOperatorOwnedWrite(
  userInfo: UserInfoLike | undefined,
  operatorIdentities: string[],
  write: OwnedWrite = {},
): ValidationResult {
  const out = new Findings();
  if (isOperator(userInfo, operatorIdentities)) return out.result();
  if (write.kind === "IPClaim" && write.operation === "DELETE" && write.released === true) return out.result();
  out.deny(write.subresource ?? "metadata", userInfo?.username, denialMessage(userInfo, write));
  return out.result();
}

function denialMessage(userInfo: UserInfoLike | undefined, write: OwnedWrite): string {
  const user = typeof userInfo?.username === "string" ? userInfo.username : "(unknown user)";
  const target = write.name ? ` ${write.namespace ? `${write.namespace}/` : ""}${write.name}` : "";
  const part = write.subresource ? ` ${write.subresource}` : "";
  const what = `${(write.operation ?? "write").toLowerCase()} ${write.kind ?? "IPAllocation and IPClaim"}${target}${part}`;
  const claimDelete = write.kind === "IPClaim" && write.operation === "DELETE";
  return (
    `user ${show(user)} may not ${what}: only vmnet-operator writes these records; ` +
    "change or delete the VirtualMachine (or the IPPool) and the operator updates them" +
    (claimDelete ? "; users may delete a claim only once it is released (its VM is gone)" : "")
  );
}

function isOperator(userInfo: UserInfoLike | undefined, identities: string[]): boolean {
  if (!userInfo || !Array.isArray(identities)) return false;
  const groups = Array.isArray(userInfo.groups) ? userInfo.groups : [];
  return identities.some(id =>
    id.startsWith("group:") ? groups.includes(id.slice("group:".length)) : typeof userInfo.username === "string" && id === userInfo.username,
  );
}
