// The gateway's public API, as any frontend uses it: unary RPCs as POST JSON (Connect's shape,
// docs/gateway.md) and the notification stream as Server-Sent Events, resumed with the last id.
// Nothing here knows the console's screens: copy this file to start a client of your own.

// An RPC's refusal: the HTTP status, Connect's code and the ErrorInfo reason every service uses
// for the same fault ("CALL_NOT_ELIGIBLE", "PHONE_NUMBER_NOT_FOUND", ...), with its metadata.
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly reason: string;
  readonly metadata: Record<string, string>;

  constructor(body: ErrorBody, status: number) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || 'unknown';
    const info = (body.details || []).find((d) => d.type === 'google.rpc.ErrorInfo');
    this.reason = info?.debug?.reason || '';
    this.metadata = info?.debug?.metadata || {};
  }
}

interface ErrorBody {
  code?: string;
  message?: string;
  details?: { type: string; debug?: { reason?: string; metadata?: Record<string, string> } }[];
}

// The kinds of events the stream sends (docs/gateway.md); `end` closes it.
export const EVENT_KINDS = ['started', 'reset', 'incoming_call', 'alert_withdrawn', 'call_state',
  'usage_alert', 'suspension_alert', 'callback_due'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];
export type StreamState = 'live' | 'reconnecting' | 'ended';

// A notification as JSON: one field set, named after its kind (incomingCall, callState, ...).
export type Notification = Record<string, any>;

export class Api {
  constructor(readonly token: string) {}

  private post(path: string, body: unknown): Promise<Response> {
    return fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.token}` },
      body: JSON.stringify(body),
    });
  }

  // One RPC: `service` as "switchboard.routing.v1.RoutingService".
  async call<T = any>(service: string, method: string, body: object = {}): Promise<T> {
    const response = await this.post(`/${service}/${method}`, body);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(data, response.status);
    return data as T;
  }

  // A streamed download (ExportCalls, DownloadInvoice) saved under the server's file name.
  async download(service: string, method: string, body: object): Promise<void> {
    const response = await this.post(`/${service}/${method}`, body);
    if (!response.ok) throw new ApiError(await response.json().catch(() => ({})), response.status);
    const disposition = response.headers.get('Content-Disposition') || '';
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] || 'download';
    const link = document.createElement('a');
    link.href = URL.createObjectURL(await response.blob());
    link.download = name;
    link.click();
    URL.revokeObjectURL(link.href);
  }

  // The live stream of `request` (a SubscribeRequest as JSON). Calls onEvent(kind, notification)
  // for each notification and onState('live' | 'reconnecting' | 'ended', why). A new ticket is
  // fetched for each connection (tickets are single use) and the last id seen is sent along,
  // so nothing is missed and nothing comes twice. Returns a function that closes it.
  subscribe(request: object, onEvent: (kind: EventKind, n: Notification) => void,
            onState: (state: StreamState, why?: Error) => void): () => void {
    let lastId = '';
    let source: EventSource | null = null;
    let closed = false;
    let retry = 1000;
    const again = (why: Error) => {
      source?.close();
      if (closed) return;
      onState('reconnecting', why);
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
    const connect = async () => {
      if (closed) return;
      let ticket: string;
      try {
        const r = await this.post('/v1/events/tickets', request);
        const body = await r.json().catch(() => ({}));
        if (!r.ok) throw new ApiError(body, r.status);
        ticket = body.ticket;
      } catch (e) {
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
          onState('ended', e);
          return;
        }
        again(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (closed) return;
      const query = new URLSearchParams({ ticket });
      if (lastId) query.set('lastEventId', lastId);
      const s = new EventSource(`/v1/events?${query}`);
      source = s;
      for (const kind of EVENT_KINDS) {
        s.addEventListener(kind, (e) => {
          const m = e as MessageEvent<string>;
          if (m.lastEventId) lastId = m.lastEventId;
          if (kind === 'started') {
            retry = 1000;
            onState('live');
          }
          onEvent(kind, JSON.parse(m.data));
        });
      }
      // The server ends a stream (drain, token expiry, slow reader) with an `end` event.
      s.addEventListener('end', (e) => {
        const error = new ApiError(JSON.parse((e as MessageEvent<string>).data || '{}'), 0);
        if (error.reason === 'TOKEN_EXPIRED') {
          s.close();
          onState('ended', error);
        } else {
          again(error);
        }
      });
      // EventSource would retry with the spent ticket: a new one instead.
      s.onerror = () => again(new Error('connection lost'));
    };
    void connect();
    return () => {
      closed = true;
      source?.close();
    };
  }
}

export interface Claims {
  sub: string;
  tenant: string;
  roles?: string[];
  exp: number;
}

// The claims of a token (no verification: the gateway verifies; this only shows who is in).
export function claimsOf(token: string): Claims | null {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(payload));
    return typeof claims.sub === 'string' && typeof claims.tenant === 'string' ? claims : null;
  } catch {
    return null;
  }
}
