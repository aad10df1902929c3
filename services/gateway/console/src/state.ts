// What every screen shares: who is signed in, the API, the tenant's time zone, and the agent's
// own call in progress.
import { Api, Claims } from './api';

export const ROUTING = 'switchboard.routing.v1.RoutingService';
export const CALLS = 'switchboard.calls.v1.CallsService';
export const BILLING = 'switchboard.billing.v1.BillingService';
export const ELIGIBILITY = 'switchboard.eligibility.v1.EligibilityService';
export const WEBHOOKS = 'switchboard.webhooks.v1.WebhooksService';
export const NOTIFICATIONS = 'switchboard.notifications.v1.NotificationsService';

export const TERMINAL = ['ENDED', 'MISSED', 'REJECTED', 'FAILED', 'CANCELED'];

// The JSON of the messages the screens read (a subset of the protos' fields).
export interface ContactRef { waId?: string; phoneE164?: string; displayName?: string }
export interface Call {
  callId: string;
  state?: string;
  direction?: string;
  contact?: ContactRef;
  businessPhoneNumberId?: string;
  businessDisplayNumber?: string;
  offeredTime?: string;
  answeredTime?: string;
  endedTime?: string;
  createTime?: string;
  duration?: string;
  cost?: { amountMicros?: string; currencyCode?: string };
  answeredByAgentId?: string;
  endReason?: string;
  metaErrorCode?: number;
  metaErrorMessage?: string;
}
export interface IncomingCall {
  callId: string;
  contact?: ContactRef;
  businessPhoneNumberId?: string;
  businessDisplayNumber?: string;
  ringDeadlineTime?: string;
}

export const state = {
  api: null as unknown as Api,
  claims: null as unknown as Claims,
  // IANA zone of the tenant (CallsSettings.time_zone): dates on every screen are shown in it.
  zone: 'UTC',
  ready: Promise.resolve() as Promise<void>,  // the zone is known (or could not be read)
  ringing: new Map<string, IncomingCall>(),
  streamState: '',
  call: null as Call | null,             // the agent's own call in progress
  peer: null as RTCPeerConnection | null,  // its WebRTC connection
  contact: null as Contact | null,       // the contact that call is with, when known
};

// A contact as the contact view keeps it.
export interface Contact { wa: string; name: string; number: string; kind: string }

export const hasRole = (...roles: string[]) =>
  roles.some((r) => (state.claims.roles || []).includes(r));

// Formatters by zone and options: making one costs far more than using it (a page of 50 rows
// would otherwise make 50).
const formats = new Map<string, Intl.DateTimeFormat>();

// Dates and times in the tenant's zone ("06/12/2026, 14:05").
export function localTime(iso: string | undefined, options: Intl.DateTimeFormatOptions = {
  dateStyle: 'short', timeStyle: 'short' }): string {
  if (!iso) return '';
  const key = `${state.zone}|${JSON.stringify(options)}`;
  let format = formats.get(key);
  try {
    if (!format) {
      format = new Intl.DateTimeFormat(undefined, { ...options, timeZone: state.zone });
      formats.set(key, format);
    }
    return format.format(new Date(iso));
  } catch {
    return new Date(iso).toLocaleString();
  }
}

// Midnight of `date` ("2026-12-06") in the tenant's zone, as an instant.
export function zoneMidnight(date: string): Date {
  const utc = new Date(`${date}T00:00:00Z`);
  // The zone's offset at that moment: how its wall clock differs from UTC.
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: state.zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(utc);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'),
                        get('second'));
  return new Date(utc.getTime() - (wall - utc.getTime()));
}

// Today's date ("2026-12-06") in the tenant's zone.
export function zoneToday(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: state.zone }).format(new Date());
}
