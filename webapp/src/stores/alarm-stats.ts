/** Alarm statistics for a date range, and the CSV of the same range. */
import { defineStore } from 'pinia';
import { readonly, ref, shallowRef } from 'vue';
import * as statsApi from '../api/alarm-stats.ts';
import type { AlarmStatistics, StatsFilter } from '../api/alarm-stats.ts';
import { saveFile } from '../composables/download.ts';

export const useAlarmStatsStore = defineStore('alarm-stats', () => {
  const stats = shallowRef<AlarmStatistics | null>(null);
  const filter = ref<StatsFilter>({});

  async function load(next: StatsFilter): Promise<void> {
    filter.value = { ...next };
    stats.value = await statsApi.getStatistics(next);
  }

  /** Downloads the per-member CSV of the range last loaded. */
  async function downloadCsv(): Promise<void> {
    const { blob, filename } = await statsApi.downloadStatisticsCsv(filter.value);
    saveFile(blob, filename);
  }

  return { stats: readonly(stats), filter: readonly(filter), load, downloadCsv };
});
