'use strict';
// Values in and out, the way node-postgres (pg 8) does it by default, so that code moved from
// `pg` sees the same JavaScript values:
//   - parameters: null/undefined -> NULL, Date -> local time with offset, Buffer -> bytea,
//     arrays -> Postgres array literals, objects -> toPostgres() or JSON, the rest -> String();
//   - results: decoded with pg-types (the very package and version pg uses): int8 and numeric
//     as strings, timestamps as Date, json parsed, bytea as Buffer, arrays as arrays...
//     `require('enrich').types.setTypeParser(...)` changes it, like `pg.types`.

const types = require('pg-types');

function pad(number, digits) {
  let s = String(number);
  while (s.length < digits) s = '0' + s;
  return s;
}

function dateToString(date) {
  let offset = -date.getTimezoneOffset();
  let year = date.getFullYear();
  const bc = year < 1;
  if (bc) year = Math.abs(year) + 1;
  let s =
    pad(year, 4) + '-' + pad(date.getMonth() + 1, 2) + '-' + pad(date.getDate(), 2) + 'T' +
    pad(date.getHours(), 2) + ':' + pad(date.getMinutes(), 2) + ':' + pad(date.getSeconds(), 2) +
    '.' + pad(date.getMilliseconds(), 3);
  if (offset < 0) {
    s += '-';
    offset = -offset;
  } else {
    s += '+';
  }
  s += pad(Math.floor(offset / 60), 2) + ':' + pad(offset % 60, 2);
  if (bc) s += ' BC';
  return s;
}

function bytesToHex(view) {
  const b = Buffer.isBuffer(view) ? view : Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  return '\\x' + b.toString('hex');
}

function escapeElement(text) {
  return '"' + text.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

function arrayLiteral(array, seen) {
  let s = '{';
  for (let i = 0; i < array.length; i++) {
    if (i > 0) s += ',';
    const v = array[i];
    if (v === null || v === undefined) s += 'NULL';
    else if (Array.isArray(v)) s += arrayLiteral(v, seen);
    else if (ArrayBuffer.isView(v)) s += '"\\' + bytesToHex(v) + '"';
    else s += escapeElement(prepareValue(v, seen));
  }
  return s + '}';
}

function prepareObject(value, seen) {
  if (typeof value.toPostgres === 'function') {
    seen = seen || [];
    if (seen.includes(value)) throw new Error('circular reference detected while preparing "' + value + '" for query');
    seen.push(value);
    return prepareValue(value.toPostgres(prepareValue), seen);
  }
  return JSON.stringify(value);
}

/** One query parameter as text, or null for SQL NULL. */
function prepareValue(value, seen) {
  if (value === null || value === undefined) return null;
  if (typeof value === 'object') {
    if (ArrayBuffer.isView(value)) return bytesToHex(value);
    if (value instanceof Date) return dateToString(value);
    if (Array.isArray(value)) return arrayLiteral(value, seen);
    return prepareObject(value, seen);
  }
  return value.toString();
}

function prepareParams(params) {
  if (params === undefined || params === null) return undefined;
  if (!Array.isArray(params)) throw new TypeError('query parameters must be an array');
  const out = new Array(params.length);
  for (let i = 0; i < params.length; i++) out[i] = prepareValue(params[i]);
  return out;
}

const MODE_ROWS = 0;
const MODE_ONE = 1;
const MODE_VALUE = 2;
const MODE_EXECUTE = 3;

/** The result of query(): the same fields as pg's Result that code usually reads. */
class QueryResult {
  constructor(command, rowCount, rows, fields) {
    this.command = command;
    this.rowCount = rowCount;
    this.rows = rows;
    this.fields = fields;
  }
}

/** Called by the addon with the rows as text (values: row-major, null for SQL NULL). */
function decodeRows(mode, names, oids, values, rowCount, command) {
  const ncols = names.length;
  const parsers = new Array(ncols);
  for (let k = 0; k < ncols; k++) parsers[k] = types.getTypeParser(oids[k], 'text');
  if (mode === MODE_VALUE) {
    if (ncols === 0 || values.length === 0) return null;
    const v = values[0];
    return v === null ? null : parsers[0](v);
  }
  const nrows = ncols === 0 ? 0 : values.length / ncols;
  const rows = new Array(nrows);
  let i = 0;
  for (let r = 0; r < nrows; r++) {
    const row = {};
    for (let k = 0; k < ncols; k++) {
      const v = values[i++];
      row[names[k]] = v === null ? null : parsers[k](v);
    }
    rows[r] = row;
  }
  if (mode === MODE_ONE) return nrows > 0 ? rows[0] : null;
  const fields = new Array(ncols);
  for (let k = 0; k < ncols; k++) fields[k] = { name: names[k], dataTypeID: oids[k] };
  return new QueryResult(command, rowCount, rows, fields);
}

module.exports = {
  types,
  prepareValue,
  prepareParams,
  dateToString,
  decodeRows,
  QueryResult,
  MODE_ROWS,
  MODE_ONE,
  MODE_VALUE,
  MODE_EXECUTE,
};
