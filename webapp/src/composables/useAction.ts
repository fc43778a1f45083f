import { ref, shallowRef } from 'vue';

/**
 * Wraps one async store action for a component: `busy` while it runs (to show progress
 * and disable the button), the `error` it failed with, `done` after it succeeded.
 * `run` never throws; it resolves to the result or undefined.
 */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>) {
  const busy = ref(false);
  const error = shallowRef<unknown>(null);
  const done = ref(false);

  async function run(...args: A): Promise<R | undefined> {
    busy.value = true;
    error.value = null;
    done.value = false;
    try {
      const result = await action(...args);
      done.value = true;
      return result;
    } catch (caught) {
      error.value = caught;
      return undefined;
    } finally {
      busy.value = false;
    }
  }

  return { busy, error, done, run };
}
