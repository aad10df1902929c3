// The agent's availability in the header: Available, Busy, Cooldown (with the seconds left),
// DND, Offline; separate from any chat status. Routing keeps it; a heartbeat every 30 s keeps
// the agent from expiring to Offline while the console is open.
import { h, short, show } from './dom';
import { ROUTING, state } from './state';

export const AVAILABILITY = ['AVAILABLE', 'BUSY', 'COOLDOWN', 'DND', 'OFFLINE'];
export const AVAILABILITY_LABEL: Record<string, string> = {
  AVAILABLE: 'Available', BUSY: 'Busy', COOLDOWN: 'Cooldown', DND: 'DND', OFFLINE: 'Offline' };

interface Agent { availability?: string; cooldownEndTime?: string }

let heartbeat = 0;
let countdown = 0;
let render: ((agent: Agent) => void) | null = null;  // set once the header has the selector

export function availabilitySelect(): HTMLElement {
  const select = h('select', { id: 'availability', 'aria-label': 'Availability' },
    ...AVAILABILITY.map((a) => h('option', { value: a }, AVAILABILITY_LABEL[a])));
  const note = h('span', { id: 'availability-note', class: 'muted', 'aria-live': 'polite' });
  render = (agent: Agent) => {
    select.value = short(agent.availability, 'AVAILABILITY_') || 'OFFLINE';
    clearInterval(countdown);
    const tick = () => {
      const left = agent.cooldownEndTime
        ? Math.round((Date.parse(agent.cooldownEndTime) - Date.now()) / 1000) : 0;
      note.textContent = select.value === 'COOLDOWN' && left > 0 ? `${left} s left` : '';
      if (select.value === 'COOLDOWN' && left <= 0 && agent.cooldownEndTime) {
        clearInterval(countdown);
        refreshAvailability();  // routing made the agent Available again
      }
    };
    tick();
    if (select.value === 'COOLDOWN') countdown = window.setInterval(tick, 1000);
  };
  clearInterval(heartbeat);
  heartbeat = window.setInterval(() => {
    state.api.call(ROUTING, 'Heartbeat', {}).then((r) => r.agent && render?.(r.agent))
      .catch(() => {});
  }, 30000);
  select.addEventListener('change', async () => {
    try {
      const r = await state.api.call(ROUTING, 'SetAgentAvailability',
        { availability: `AVAILABILITY_${select.value}` });
      render?.(r.agent);
      show(null);
    } catch (e) {
      show(e);
      refreshAvailability();
    }
  });
  return h('span', {}, select, note);
}

// The header's availability as routing has it now. After the agent's own call ends routing
// moves them from Busy to Cooldown on its own: asked again a few times until it has.
export function refreshAvailability(retries = 0): void {
  if (!render) return;  // not an agent
  state.api.call(ROUTING, 'GetAgentAvailability', {}).then((r) => {
    render?.(r.agent);
    const busy = short(r.agent?.availability, 'AVAILABILITY_') === 'BUSY';
    if (busy && !state.call && retries > 0) {
      window.setTimeout(() => refreshAvailability(retries - 1), 1000);
    }
  }).catch(show);
}

export function stopPresence(): void {
  render = null;
  clearInterval(heartbeat);
  clearInterval(countdown);
}
