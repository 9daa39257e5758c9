/**
 * Field lists for the bodies an update sends back, checked by the compiler
 * against the SDK's parameter types, so a list cannot miss a field the SDK
 * adds or name one it does not have.
 */

/** A list of T's keys that the compiler proves complete: every key is listed, or deliberately left out in the second list. */
export function fieldsOf<T>() {
  return <const Listed extends readonly (keyof T)[], const Left extends readonly (keyof T)[] = []>(
    listed: Listed & ([Exclude<keyof T, Listed[number] | Left[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, Listed[number] | Left[number]> }),
    _left?: Left,
  ): ReadonlySet<string> => new Set(listed as readonly PropertyKey[] as string[]);
}

/** The object's own fields among these, as they are. */
export const pick = <T>(object: object, fields: ReadonlySet<string>) => Object.fromEntries(Object.entries(object).filter(([key]) => fields.has(key))) as T;
