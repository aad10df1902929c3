// Calls of the agent's own: incoming calls ringing (a card each, a browser notification, a Web
// Audio ringtone, Answer and Reject) and the call in progress (Calling… or On call with a timer,
// End Call), shown on every screen. Answering and calling use real WebRTC session descriptions
// made by this browser; audio itself is out of the console's scope.
import { byId, h, mmss, newRequestId, short, show } from './dom';
import { CALLS, Call, Contact, IncomingCall, TERMINAL, state } from './state';

// ---- incoming calls ---------------------------------------------------------------------------

export function renderRinging(): void {
  const box = byId('ringing');
  if (!box) return;
  const now = Date.now();
  const cards = [...state.ringing.values()]
    .filter((a) => !a.ringDeadlineTime || Date.parse(a.ringDeadlineTime) > now)
    .map((a) => {
      const name = a.contact?.displayName || '';
      const number = a.contact?.phoneE164 || a.contact?.waId || '';
      return h('div', { class: 'call-card', role: 'alert', 'data-call-id': a.callId },
        h('span', { class: 'incoming' }, '↓ Incoming call'),
        h('strong', { class: 'contact' }, name || number),
        name ? h('span', { class: 'muted' }, number) : '',
        a.businessDisplayNumber ? h('span', { class: 'muted' }, `to ${a.businessDisplayNumber}`) : '',
        h('button', { class: 'answer', disabled: !!state.call, onclick: () => answer(a) }, 'Answer'),
        h('button', { class: 'reject', onclick: () => reject(a.callId) }, 'Reject'));
    });
  box.replaceChildren(...cards);
  const ringtone = byId<HTMLInputElement>('ringtone');
  if (cards.length > 0 && !state.call && ringtone?.checked) startRingtone();
  else stopRingtone();
}

async function reject(callId: string): Promise<void> {
  try {
    await state.api.call(CALLS, 'RejectCall', { callId, requestId: newRequestId() });
    state.ringing.delete(callId);
    renderRinging();
  } catch (e) {
    show(e);
  }
}

// Answers with this browser's WebRTC answer to the caller's offer (GetCall gives it while the
// call rings). Another agent may have won: the card then goes with the reason shown.
async function answer(alert: IncomingCall): Promise<void> {
  if (state.call) return;
  let peer: RTCPeerConnection | null = null;
  try {
    const { call, sdpOffer } = await state.api.call<{ call: Call; sdpOffer?: string }>(
      CALLS, 'GetCall', { callId: alert.callId });
    if (!sdpOffer) throw new Error('This call can no longer be answered.');
    peer = new RTCPeerConnection();
    await peer.setRemoteDescription({ type: 'offer', sdp: sdpOffer });
    await peer.setLocalDescription(await peer.createAnswer());
    const r = await state.api.call<{ call: Call }>(CALLS, 'AnswerCall', {
      callId: alert.callId, sdpAnswer: peer.localDescription?.sdp, requestId: newRequestId() });
    state.peer = peer;
    state.call = r.call;
    state.contact = {
      wa: call.contact?.waId || '', name: call.contact?.displayName || '',
      number: call.businessPhoneNumberId || '', kind: 'CALL_KIND_USER_REQUESTED' };
    state.ringing.delete(alert.callId);
    show(null);
  } catch (e) {
    peer?.close();
    state.ringing.delete(alert.callId);
    show(e);
  }
  renderRinging();
  renderCallStatus();
}

export function notify(alert: IncomingCall): void {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  const who = alert.contact?.displayName || alert.contact?.phoneE164 || alert.contact?.waId || '';
  new Notification('Incoming call', { body: who, tag: alert.callId });
}

let ring: { ctx: AudioContext; timer: number } | null = null;

// A soft 440 Hz beep every 1.5 s while something rings (off by the header's setting).
function startRingtone(): void {
  if (ring) return;
  try {
    const ctx = new AudioContext();
    const gain = ctx.createGain();
    gain.gain.value = 0.05;
    gain.connect(ctx.destination);
    const beep = () => {
      const o = ctx.createOscillator();
      o.frequency.value = 440;
      o.connect(gain);
      o.start();
      o.stop(ctx.currentTime + 0.4);
    };
    beep();
    ring = { ctx, timer: window.setInterval(beep, 1500) };
    document.body.dataset.ringtone = 'on';
  } catch {
    ring = null;
  }
}

export function stopRingtone(): void {
  if (!ring) return;
  clearInterval(ring.timer);
  void ring.ctx.close();
  ring = null;
  delete document.body.dataset.ringtone;
}

// ---- placing a call -------------------------------------------------------------------------

// Places a call to `contact` with a real WebRTC offer made by this browser (audio only).
export async function startCall(contact: Contact, ref: object): Promise<void> {
  const peer = new RTCPeerConnection();
  try {
    peer.addTransceiver('audio', { direction: 'sendrecv' });
    await peer.setLocalDescription(await peer.createOffer());
    const r = await state.api.call<{ call: Call }>(CALLS, 'StartCall', {
      agentId: state.claims.sub, contact: ref, businessPhoneNumberId: contact.number,
      sdpOffer: peer.localDescription?.sdp, callKind: contact.kind, requestId: newRequestId() });
    state.peer = peer;
    state.call = r.call;
    state.contact = contact;
    renderCallStatus();
  } catch (e) {
    peer.close();
    throw e;
  }
}

// ---- the call in progress -------------------------------------------------------------------

// A call_state notification: the agent's own call moves on.
export function onCallState(call: Call): void {
  if (state.call && call.callId === state.call.callId) {
    state.call = call;
    renderCallStatus();
  }
}

let timer = 0;
let lastEnded = '';

export function renderCallStatus(): void {
  const box = byId('call-status');
  clearInterval(timer);
  if (!box) return;
  const call = state.call;
  if (!call) {
    box.replaceChildren(lastEnded ? h('p', { id: 'call-ended' }, lastEnded) : '');
    return;
  }
  const st = short(call.state, 'CALL_STATE_');
  if (TERMINAL.includes(st)) {
    lastEnded = `Call ${st.toLowerCase()}`;
    const ended = lastEnded;
    window.setTimeout(() => {  // the line goes after a while, unless another call came
      if (lastEnded === ended && !state.call) {
        lastEnded = '';
        renderCallStatus();
      }
    }, 15000);
    state.call = null;
    state.peer?.close();
    state.peer = null;
    renderRinging();  // Answer is possible again
    renderCallStatus();
    return;
  }
  lastEnded = '';
  const who = call.contact?.displayName || call.contact?.phoneE164 || call.contact?.waId || '';
  const clock = h('span', { id: 'timer' }, '00:00');
  const answered = call.answeredTime ? Date.parse(call.answeredTime) : null;
  const tick = () => {
    clock.textContent = answered ? mmss((Date.now() - answered) / 1000) : '';
  };
  tick();
  timer = window.setInterval(tick, 1000);
  box.replaceChildren(h('p', { id: 'calling', 'aria-live': 'polite' },
    answered ? 'On call ' : 'Calling… ', who ? `${who} ` : '', clock),
    h('button', { id: 'end', class: 'reject', title: 'End Call (Ctrl+E)', onclick: endCall },
      'End Call'));
}

export async function endCall(): Promise<void> {
  if (!state.call) return;
  try {
    const r = await state.api.call<{ call: Call }>(CALLS, 'EndCall', {
      callId: state.call.callId, requestId: newRequestId() });
    state.call = r.call;
    renderCallStatus();
  } catch (e) {
    show(e);
  }
}
