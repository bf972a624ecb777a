'use strict';

/** An HTTP response: any status is a response; transport failures reject instead. */
class HttpResponse {
  constructor(status, headers, body, elapsedMs) {
    this.status = status;
    /** Header names in lower case; repeated headers joined with ", ". */
    this.headers = headers;
    /** The body as a Buffer. */
    this.body = body;
    this.elapsedMs = elapsedMs;
  }

  get ok() {
    return this.status >= 200 && this.status < 300;
  }

  text() {
    return this.body.toString('utf8');
  }

  json() {
    return JSON.parse(this.body.toString('utf8'));
  }
}

/** Called by the addon: flat [name, value, ...] headers. */
function makeHttpResponse(status, flatHeaders, body, elapsedMs) {
  const headers = {};
  for (let i = 0; i + 1 < flatHeaders.length; i += 2) {
    const name = flatHeaders[i].toLowerCase();
    headers[name] = name in headers ? headers[name] + ', ' + flatHeaders[i + 1] : flatHeaders[i + 1];
  }
  return new HttpResponse(status, headers, body, elapsedMs);
}

/** Headers given as an object, a Map, a Headers instance or [name, value] pairs -> flat array. */
function flattenHeaders(headers) {
  if (!headers) return undefined;
  const flat = [];
  const entries =
    typeof headers.entries === 'function' && !Array.isArray(headers) ? headers.entries() : Array.isArray(headers) ? headers : Object.entries(headers);
  for (const [name, value] of entries) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const v of value) flat.push(String(name), String(v));
    else flat.push(String(name), String(value));
  }
  return flat;
}

module.exports = { HttpResponse, makeHttpResponse, flattenHeaders };
