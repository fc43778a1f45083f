import { Marker, type Map as MapLibreMap } from 'maplibre-gl';

export interface MemberOnMap {
  userId: string;
  displayName: string;
  lat: number;
  lon: number;
  recordedAt: string;
}

/**
 * Members' last known positions as markers with their name (HTML markers, so labels
 * need no font download). Returns functions to place/move and to remove one.
 */
export function memberMarkers(map: MapLibreMap) {
  const markers = new Map<string, Marker>();
  return {
    set(member: MemberOnMap): void {
      let marker = markers.get(member.userId);
      if (!marker) {
        const element = document.createElement('div');
        element.className = 'member-marker';
        element.dataset.user = member.userId;
        element.dataset.testid = 'member-marker';
        const dot = document.createElement('span');
        dot.className = 'member-dot';
        const label = document.createElement('span');
        label.className = 'member-name';
        element.append(dot, label);
        marker = new Marker({ element, anchor: 'left' })
          .setLngLat([member.lon, member.lat])
          .addTo(map);
        markers.set(member.userId, marker);
      }
      const element = marker.getElement();
      (element.querySelector('.member-name') as HTMLElement).textContent = member.displayName;
      element.title = `${member.displayName} · ${new Date(member.recordedAt).toLocaleTimeString()}`;
      marker.setLngLat([member.lon, member.lat]);
    },
    remove(userId: string): void {
      markers.get(userId)?.remove();
      markers.delete(userId);
    },
    has(userId: string): boolean {
      return markers.has(userId);
    },
  };
}
