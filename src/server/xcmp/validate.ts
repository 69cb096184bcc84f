/** Positional params checked against the contract's zod schemas; failures become -32602 with the field named. */
import type { ParamSpec } from '../../../rpc/contract.ts';
import { ErrorCode, RpcError } from '../transport/jsonrpc.ts';

export function validateParams(
  method: string,
  specs: readonly ParamSpec[],
  params: readonly unknown[],
): unknown[] {
  if (params.length > specs.length) {
    throw new RpcError(
      ErrorCode.invalidParams,
      `Invalid params: ${method} takes at most ${specs.length} parameter(s), got ${params.length}`,
    );
  }
  return specs.map((spec, i) => {
    const value = params[i];
    if (value === undefined || value === null) {
      if (spec.optional) return undefined;
      throw new RpcError(ErrorCode.invalidParams, `Invalid params: ${spec.name} is required`);
    }
    const result = spec.schema.safeParse(value);
    if (!result.success) {
      const issue = result.error.issues[0];
      const path = [spec.name, ...(issue?.path ?? []).map(String)].join('.');
      throw new RpcError(ErrorCode.invalidParams, `Invalid params: ${path}: ${issue?.message ?? 'invalid'}`);
    }
    return result.data;
  });
}
