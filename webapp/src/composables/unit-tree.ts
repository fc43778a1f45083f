import type { Unit } from '../api/types.ts';

export interface UnitRow {
  unit: Unit;
  depth: number;
}

/**
 * Units in tree order (parents before their children, siblings by name) with their depth.
 * A unit whose parent is missing from the list is shown at the top level.
 */
export function flattenUnits(units: readonly Unit[]): UnitRow[] {
  const ids = new Set(units.map((unit) => unit.id));
  const children = new Map<string | null, Unit[]>();
  for (const unit of units) {
    const parent = unit.parentId && ids.has(unit.parentId) ? unit.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), unit]);
  }
  const rows: UnitRow[] = [];
  const visit = (parent: string | null, depth: number) => {
    const list = [...(children.get(parent) ?? [])].sort((a, b) => a.name.localeCompare(b.name));
    for (const unit of list) {
      rows.push({ unit, depth });
      visit(unit.id, depth + 1);
    }
  };
  visit(null, 0);
  return rows;
}

/** The unit and all units below it (it cannot be moved under any of them). */
export function subtreeIds(units: readonly Unit[], rootId: string): Set<string> {
  const result = new Set([rootId]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const unit of units) {
      if (unit.parentId && result.has(unit.parentId) && !result.has(unit.id)) {
        result.add(unit.id);
        grew = true;
      }
    }
  }
  return result;
}
