// The gateway's public API, as any frontend uses it: unary RPCs as POST JSON (Connect's shape,
// docs/gateway.md) and the notification stream as Server-Sent Events, resumed with the last id.

export class ApiError extends Error {
  constructor(body, status) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || 'unknown';
    const info = (body.details || []).find((d) => d.type === 'google.rpc.ErrorInfo');
    this.reason = info?.debug?.reason || '';
    this.metadata = info?.debug?.metadata || {};
  }
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  // One RPC: `service` as "switchboard.routing.v1.RoutingService".
  async call(service, method, body = {}) {
    const response = await fetch(`/${service}/${method}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.token}` },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(data, response.status);
    return data;
  }

  // A streamed download (ExportCalls, DownloadInvoice) saved under the server's file name.
  async download(service, method, body) {
    const response = await fetch(`/${service}/${method}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.token}` },
      body: JSON.stringify(body),
    });
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
  subscribe(request, onEvent, onState) {
    let lastId = '';
    let source = null;
    let closed = false;
    let retry = 1000;
    const kinds = ['started', 'reset', 'incoming_call', 'alert_withdrawn', 'call_state',
                   'usage_alert', 'suspension_alert', 'callback_due'];
    const connect = async () => {
      if (closed) return;
      let ticket;
      try {
        const r = await fetch('/v1/events/tickets', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.token}` },
          body: JSON.stringify(request),
        });
        const body = await r.json().catch(() => ({}));
        if (!r.ok) throw new ApiError(body, r.status);
        ticket = body.ticket;
      } catch (e) {
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
          onState('ended', e);
          return;
        }
        onState('reconnecting', e);
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 15000);
        return;
      }
      const query = new URLSearchParams({ ticket });
      if (lastId) query.set('lastEventId', lastId);
      source = new EventSource(`/v1/events?${query}`);
      for (const kind of kinds) {
        source.addEventListener(kind, (e) => {
          if (e.lastEventId) lastId = e.lastEventId;
          if (kind === 'started') {
            retry = 1000;
            onState('live');
          }
          onEvent(kind, JSON.parse(e.data));
        });
      }
      const again = (why) => {
        source.close();
        onState('reconnecting', why);
        setTimeout(connect, retry);
      };
      // The server ends a stream (drain, token expiry, slow reader) with an `end` event.
      source.addEventListener('end', (e) => {
        const body = JSON.parse(e.data || '{}');
        const error = new ApiError(body, 0);
        if (error.reason === 'TOKEN_EXPIRED') {
          source.close();
          onState('ended', error);
        } else {
          again(error);
        }
      });
      // EventSource would retry with the spent ticket: a new one instead.
      source.onerror = () => again(new Error('connection lost'));
    };
    connect();
    return () => {
      closed = true;
      if (source) source.close();
    };
  }
}

// The claims of a token (no verification: the gateway verifies; this only shows who is in).
export function claimsOf(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload));
  } catch {
    return null;
  }
}
