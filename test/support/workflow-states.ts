/**
 * Every state of a workflow definition by name, those inside Map item processors (the relay
 * workflow's per-event chain) and Parallel branches included: state names are unique across a
 * whole state machine, so one flat table addresses them all.
 */
type Definition = { States?: Record<string, Record<string, any>> };

export function allStates(definition: unknown): Record<string, any> {
  const found: Record<string, any> = {};
  const walk = (d: Definition | undefined) => {
    for (const [name, state] of Object.entries(d?.States ?? {})) {
      if (name in found) throw new Error(`state "${name}" appears twice`);
      found[name] = state;
      walk(state.ItemProcessor ?? state.Iterator);
      for (const branch of state.Branches ?? []) walk(branch);
    }
  };
  walk(definition as Definition);
  return found;
}
