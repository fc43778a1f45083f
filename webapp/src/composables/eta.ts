/**
 * ETA to an incident from the member's own position, straight-line at an average road
 * speed (until routing exists). Only asks the browser for a position when the member has
 * already allowed it — an alarm is no moment for a permission prompt.
 */
const AVERAGE_KMH = 40;
const SETUP_MINUTES = 2;

export function distanceKm(
  a: { lat: number; lon: number },
  b: { lat: number; lon: number },
): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

export function etaMinutesFor(km: number): number {
  return Math.min(240, Math.round(SETUP_MINUTES + (km / AVERAGE_KMH) * 60));
}

export async function estimateEtaMinutes(incident: {
  lat: number;
  lon: number;
}): Promise<number | null> {
  try {
    const permission = await navigator.permissions?.query({ name: 'geolocation' });
    if (permission?.state !== 'granted') return null;
    const position = await new Promise<GeolocationPosition>((resolve, reject) =>
      navigator.geolocation.getCurrentPosition(resolve, reject, {
        timeout: 5000,
        maximumAge: 60_000,
      }),
    );
    const here = { lat: position.coords.latitude, lon: position.coords.longitude };
    return etaMinutesFor(distanceKm(here, incident));
  } catch {
    return null;
  }
}
