import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { appError } from '../../errors.ts';

/*
 * OASIS Common Alerting Protocol 1.2: parsing with strict validation, and serializing.
 *
 * Incoming documents come from outside (warning systems, neighbouring dispatch centres),
 * so parseCap checks in this order, cheapest and most dangerous first:
 *   1. size (CAP_TOO_LARGE) before any other work;
 *   2. no DOCTYPE or ENTITY declaration at all — that rules out XXE and entity expansion
 *      ("billion laughs") whatever the parser would do with them;
 *   3. only XML 1.0 characters, well-formed, exactly one root element;
 *   4. the CAP rules: root <alert> in the CAP 1.2 namespace, required elements present
 *      once, enumerations, date-times, polygons and circles.
 * Entity references are decoded here rather than by the parser, so only the five
 * predefined entities and character references are ever accepted.
 *
 * Not checked: element order within a container, and the content of CAP elements this
 * module does not map (source, code, incidents, eventCode, effective, onset, expires,
 * resource, geocode, …); those are accepted and dropped. Elements from other namespaces
 * (e.g. an XML signature) are ignored. Text values are trimmed of XML whitespace, and an
 * empty optional element counts as absent.
 */

export const CAP_NAMESPACE = 'urn:oasis:names:tc:emergency:cap:1.2';
export const CAP_MAX_BYTES = 64 * 1024;

export type CapStatus = 'Actual' | 'Exercise' | 'System' | 'Test' | 'Draft';
export type CapMsgType = 'Alert' | 'Update' | 'Cancel' | 'Ack' | 'Error';
export type CapScope = 'Public' | 'Restricted' | 'Private';
export type CapUrgency = 'Immediate' | 'Expected' | 'Future' | 'Past' | 'Unknown';
export type CapSeverity = 'Extreme' | 'Severe' | 'Moderate' | 'Minor' | 'Unknown';
export type CapCertainty = 'Observed' | 'Likely' | 'Possible' | 'Unlikely' | 'Unknown';

export interface CapCircle {
  lat: number;
  lon: number;
  radiusKm: number;
}

export interface CapArea {
  areaDesc: string;
  /** Rings of [lat, lon] pairs, closed as in CAP: the last point repeats the first. */
  polygons: Array<Array<[number, number]>>;
  circles: CapCircle[];
}

export interface CapInfo {
  /** RFC 3066 language tag; 'en-US' when the document has none, as CAP specifies. */
  language: string;
  /** At least one of Geo Met Safety Security Rescue Fire Health Env Transport Infra CBRNE Other. */
  category: string[];
  event: string;
  urgency: CapUrgency;
  severity: CapSeverity;
  certainty: CapCertainty;
  headline?: string;
  description?: string;
  instruction?: string;
  senderName?: string;
  parameters: Array<{ valueName: string; value: string }>;
  areas: CapArea[];
}

export interface CapAlert {
  identifier: string;
  sender: string;
  sent: Date;
  status: CapStatus;
  msgType: CapMsgType;
  scope: CapScope;
  restriction?: string;
  addresses?: string;
  references?: string;
  note?: string;
  infos: CapInfo[];
}

const STATUSES: readonly CapStatus[] = ['Actual', 'Exercise', 'System', 'Test', 'Draft'];
const MSG_TYPES: readonly CapMsgType[] = ['Alert', 'Update', 'Cancel', 'Ack', 'Error'];
const SCOPES: readonly CapScope[] = ['Public', 'Restricted', 'Private'];
const URGENCIES: readonly CapUrgency[] = ['Immediate', 'Expected', 'Future', 'Past', 'Unknown'];
const SEVERITIES: readonly CapSeverity[] = ['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown'];
const CERTAINTIES: readonly CapCertainty[] = [
  'Observed',
  'Likely',
  'Possible',
  'Unlikely',
  'Unknown',
];
const CATEGORIES: readonly string[] = [
  'Geo',
  'Met',
  'Safety',
  'Security',
  'Rescue',
  'Fire',
  'Health',
  'Env',
  'Transport',
  'Infra',
  'CBRNE',
  'Other',
];

/** Every child element the CAP 1.2 schema allows; anything else in the namespace is an error. */
const ALLOWED_CHILDREN: Record<string, readonly string[]> = {
  alert: [
    'identifier',
    'sender',
    'sent',
    'status',
    'msgType',
    'source',
    'scope',
    'restriction',
    'addresses',
    'code',
    'note',
    'references',
    'incidents',
    'info',
  ],
  info: [
    'language',
    'category',
    'event',
    'responseType',
    'urgency',
    'severity',
    'certainty',
    'audience',
    'eventCode',
    'effective',
    'onset',
    'expires',
    'senderName',
    'headline',
    'description',
    'instruction',
    'web',
    'contact',
    'parameter',
    'resource',
    'area',
  ],
  parameter: ['valueName', 'value'],
  area: ['areaDesc', 'polygon', 'circle', 'geocode', 'altitude', 'ceiling'],
};

/* ---------------------------------------------------------------- errors */

function invalid(message: string): Error {
  return appError('CAP_INVALID', `CAP: ${message}`);
}

/* ------------------------------------------------------------ XML layer */

interface XmlElement {
  ns: string;
  name: string;
  /** Decoded character data of this element itself, child elements excluded. */
  text: string;
  children: XmlElement[];
}

/** Characters XML 1.0 allows; lone surrogates and most C0 controls are not among them. */
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const ENTITY_REF = /&(?:#x([0-9A-Fa-f]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g;
const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const XML_SPACE = /^[ \t\r\n]+|[ \t\r\n]+$/g;
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  cdataPropName: '#cdata',
  commentPropName: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // CAP is four levels deep, an XML signature about eight; this bounds recursion below.
  maxNestedTags: 64,
});

function decodeEntities(raw: string): string {
  if (raw.replace(ENTITY_REF, '').includes('&')) {
    throw invalid('document is not well-formed XML (undefined entity or bare "&")');
  }
  if (raw.includes(']]>')) throw invalid('document is not well-formed XML ("]]>" in text)');
  return raw.replace(ENTITY_REF, (_match, hex?: string, dec?: string, name?: string) => {
    if (name !== undefined) return PREDEFINED[name] ?? '';
    const codePoint = hex !== undefined ? parseInt(hex, 16) : Number(dec);
    const char = codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : '\0';
    if (NOT_XML_CHAR.test(char)) {
      throw invalid('document contains a character reference not allowed in XML');
    }
    return char;
  });
}

type OrderedNode = Record<string, unknown>;

function elementTag(node: OrderedNode): string | undefined {
  return Object.keys(node).find((key) => key !== ':@' && key !== '#text' && key !== '#cdata');
}

function cdataText(value: unknown): string {
  if (!Array.isArray(value)) return '';
  return value.map((part: OrderedNode) => String(part['#text'] ?? '')).join('');
}

/** Converts the parser's ordered output into elements with resolved namespaces. */
function toElement(node: OrderedNode, tag: string, scope: ReadonlyMap<string, string>): XmlElement {
  const attributes = (node[':@'] ?? {}) as Record<string, string>;
  let inner = scope;
  for (const [key, value] of Object.entries(attributes)) {
    if (key === '@_xmlns' || key.startsWith('@_xmlns:')) {
      if (inner === scope) inner = new Map(scope);
      (inner as Map<string, string>).set(key.slice('@_xmlns:'.length), decodeEntities(value));
    }
  }
  const colon = tag.indexOf(':');
  const prefix = colon === -1 ? '' : tag.slice(0, colon);
  const name = colon === -1 ? tag : tag.slice(colon + 1);
  const ns = inner.get(prefix);
  if (ns === undefined && prefix !== '') {
    throw invalid(`namespace prefix "${prefix}" is not declared`);
  }
  const element: XmlElement = { ns: ns ?? '', name, text: '', children: [] };
  const content = node[tag];
  for (const child of Array.isArray(content) ? (content as OrderedNode[]) : []) {
    if ('#text' in child) element.text += decodeEntities(String(child['#text']));
    else if ('#cdata' in child) element.text += cdataText(child['#cdata']);
    else {
      const childTag = elementTag(child);
      if (childTag !== undefined) element.children.push(toElement(child, childTag, inner));
    }
  }
  return element;
}

function readXml(xml: string): XmlElement {
  const validation = XMLValidator.validate(xml);
  if (validation !== true) {
    const { line, msg } = validation.err;
    throw invalid(`document is not well-formed XML (line ${line}: ${msg})`);
  }
  let nodes: OrderedNode[];
  try {
    nodes = parser.parse(xml) as OrderedNode[];
  } catch (error) {
    throw invalid(`document is not well-formed XML (${(error as Error).message})`);
  }
  const roots: XmlElement[] = [];
  for (const node of nodes) {
    const tag = elementTag(node);
    if (tag !== undefined) roots.push(toElement(node, tag, new Map([['xml', XML_NS]])));
    else if ('#text' in node && String(node['#text']).replace(XML_SPACE, '') !== '') {
      throw invalid('document is not well-formed XML (text outside the root element)');
    }
  }
  if (roots.length !== 1) throw invalid('document must have exactly one root element');
  return roots[0]!;
}

/* ----------------------------------------------------------- CAP layer */

function capChildren(parent: XmlElement, name: string): XmlElement[] {
  return parent.children.filter((child) => child.ns === CAP_NAMESPACE && child.name === name);
}

/** Rejects CAP elements the schema does not allow here, and stray text in containers. */
function checkContainer(element: XmlElement): void {
  const allowed = ALLOWED_CHILDREN[element.name] ?? [];
  for (const child of element.children) {
    if (child.ns === CAP_NAMESPACE && !allowed.includes(child.name)) {
      throw invalid(`unexpected element <${child.name}> in <${element.name}>`);
    }
  }
  if (element.text.replace(XML_SPACE, '') !== '') {
    throw invalid(`<${element.name}> must not contain text`);
  }
}

function textOf(element: XmlElement): string {
  if (element.children.length > 0) throw invalid(`<${element.name}> must contain text only`);
  return element.text.replace(XML_SPACE, '');
}

function atMostOne(parent: XmlElement, name: string): XmlElement | undefined {
  const found = capChildren(parent, name);
  if (found.length > 1) throw invalid(`<${name}> appears more than once in <${parent.name}>`);
  return found[0];
}

function requiredText(parent: XmlElement, name: string): string {
  const element = atMostOne(parent, name);
  if (element === undefined) throw invalid(`<${name}> is missing`);
  const text = textOf(element);
  if (text === '') throw invalid(`<${name}> is empty`);
  return text;
}

function optionalText(parent: XmlElement, name: string): string | undefined {
  const element = atMostOne(parent, name);
  if (element === undefined) return undefined;
  const text = textOf(element);
  return text === '' ? undefined : text;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalid(`<${name}> must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** identifier and sender: CAP forbids spaces, commas and the restricted characters < and &. */
function checkToken(value: string, name: string): string {
  if (/[\s,<&]/.test(value)) {
    throw invalid(`<${name}> must not contain spaces, commas, "<" or "&"`);
  }
  return value;
}

const CAP_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([+-])(\d{2}):(\d{2})$/;

/**
 * CAP date-times always carry a numeric offset: 2026-12-01T14:00:00+01:00. The spec
 * forbids "Z" (UTC is written -00:00) and has no fractional seconds.
 */
function parseCapDateTime(value: string, name: string): Date {
  const match = CAP_DATE_TIME.exec(value);
  if (match === null) {
    if (/Z$/i.test(value)) {
      throw invalid(`<${name}> must end in a numeric offset such as -00:00, not "Z"`);
    }
    throw invalid(`<${name}> must be a date-time such as 2026-12-01T14:00:00+01:00`);
  }
  const [year, month, day, hour, minute, second, , offsetHours, offsetMinutes] = match
    .slice(1)
    .map(Number) as number[];
  const date = new Date(0);
  date.setUTCFullYear(year!, month! - 1, day!);
  date.setUTCHours(hour!, minute!, second!, 0);
  const exact =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month! - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  if (!exact || offsetHours! > 14 || offsetMinutes! > 59) {
    throw invalid(`<${name}> is not a valid date-time`);
  }
  const offset = (match[7] === '-' ? -1 : 1) * (offsetHours! * 60 + offsetMinutes!);
  return new Date(date.getTime() - offset * 60_000);
}

/** references: whitespace-separated "sender,identifier,sent" triplets. */
function checkReferences(value: string): string {
  for (const entry of value.split(/[ \t\r\n]+/)) {
    const parts = entry.split(',');
    if (parts.length !== 3 || parts.some((part) => part === '')) {
      throw invalid('<references> must be "sender,identifier,sent" entries separated by spaces');
    }
    parseCapDateTime(parts[2]!, 'references');
  }
  return value;
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

function parsePoint(text: string, name: string): [number, number] {
  const parts = text.split(',');
  if (parts.length !== 2 || !parts.every((part) => DECIMAL.test(part))) {
    throw invalid(`<${name}> point "${text}" is not "lat,lon" in decimal degrees`);
  }
  const lat = Number(parts[0]);
  const lon = Number(parts[1]);
  if (lat < -90 || lat > 90) throw invalid(`<${name}> latitude ${parts[0]} is out of range`);
  if (lon < -180 || lon > 180) throw invalid(`<${name}> longitude ${parts[1]} is out of range`);
  return [lat, lon];
}

function parsePolygon(text: string): Array<[number, number]> {
  const points = text.split(/[ \t\r\n]+/).map((point) => parsePoint(point, 'polygon'));
  if (points.length < 4) throw invalid('<polygon> must have at least 4 points');
  const first = points[0]!;
  const last = points[points.length - 1]!;
  if (first[0] !== last[0] || first[1] !== last[1]) {
    throw invalid('<polygon> must be closed (last point equal to the first)');
  }
  return points;
}

function parseCircle(text: string): CapCircle {
  const match = /^(\S+)[ \t\r\n]+(\S+)$/.exec(text);
  if (match === null || !DECIMAL.test(match[2]!)) {
    throw invalid('<circle> must be "lat,lon radius" with the radius in km');
  }
  const [lat, lon] = parsePoint(match[1]!, 'circle');
  const radiusKm = Number(match[2]);
  if (radiusKm < 0) throw invalid('<circle> radius must not be negative');
  return { lat, lon, radiusKm };
}

function parseArea(element: XmlElement): CapArea {
  checkContainer(element);
  return {
    areaDesc: requiredText(element, 'areaDesc'),
    polygons: capChildren(element, 'polygon').map((polygon) => parsePolygon(textOf(polygon))),
    circles: capChildren(element, 'circle').map((circle) => parseCircle(textOf(circle))),
  };
}

function parseParameter(element: XmlElement): { valueName: string; value: string } {
  checkContainer(element);
  const valueElement = atMostOne(element, 'value');
  if (valueElement === undefined) throw invalid('<value> is missing in <parameter>');
  // An empty <value/> is a value; only the name is required to be non-empty.
  return { valueName: requiredText(element, 'valueName'), value: textOf(valueElement) };
}

const LANGUAGE_TAG = /^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/;

function parseInfo(element: XmlElement): CapInfo {
  checkContainer(element);
  const language = optionalText(element, 'language') ?? 'en-US';
  if (!LANGUAGE_TAG.test(language)) throw invalid('<language> must be a tag such as de-DE');
  const category = capChildren(element, 'category').map((c) =>
    oneOf(textOf(c), CATEGORIES, 'category'),
  );
  if (category.length === 0) throw invalid('<category> is missing');
  const info: CapInfo = {
    language,
    category,
    event: requiredText(element, 'event'),
    urgency: oneOf(requiredText(element, 'urgency'), URGENCIES, 'urgency'),
    severity: oneOf(requiredText(element, 'severity'), SEVERITIES, 'severity'),
    certainty: oneOf(requiredText(element, 'certainty'), CERTAINTIES, 'certainty'),
    parameters: capChildren(element, 'parameter').map(parseParameter),
    areas: capChildren(element, 'area').map(parseArea),
  };
  for (const key of ['headline', 'description', 'instruction', 'senderName'] as const) {
    const value = optionalText(element, key);
    if (value !== undefined) info[key] = value;
  }
  return info;
}

function parseAlert(root: XmlElement): CapAlert {
  if (root.name !== 'alert' || root.ns !== CAP_NAMESPACE) {
    throw invalid(`root element must be <alert> in namespace ${CAP_NAMESPACE}`);
  }
  checkContainer(root);
  const alert: CapAlert = {
    identifier: checkToken(requiredText(root, 'identifier'), 'identifier'),
    sender: checkToken(requiredText(root, 'sender'), 'sender'),
    sent: parseCapDateTime(requiredText(root, 'sent'), 'sent'),
    status: oneOf(requiredText(root, 'status'), STATUSES, 'status'),
    msgType: oneOf(requiredText(root, 'msgType'), MSG_TYPES, 'msgType'),
    scope: oneOf(requiredText(root, 'scope'), SCOPES, 'scope'),
    infos: [],
  };
  for (const key of ['restriction', 'addresses', 'references', 'note'] as const) {
    const value = optionalText(root, key);
    if (value !== undefined) alert[key] = key === 'references' ? checkReferences(value) : value;
  }
  if (alert.scope === 'Restricted' && alert.restriction === undefined) {
    throw invalid('<restriction> is required when <scope> is Restricted');
  }
  if (alert.scope === 'Private' && alert.addresses === undefined) {
    throw invalid('<addresses> is required when <scope> is Private');
  }
  alert.infos = capChildren(root, 'info').map(parseInfo);
  return alert;
}

/**
 * Parses and strictly validates a CAP 1.2 document.
 * @throws AppError CAP_TOO_LARGE (more than CAP_MAX_BYTES of UTF-8)
 * @throws AppError CAP_INVALID (not well-formed, DOCTYPE/ENTITY present, or not valid CAP;
 *   the message names the offending element)
 */
export function parseCap(xml: string): CapAlert {
  if (typeof xml !== 'string') throw invalid('document must be text');
  if (Buffer.byteLength(xml, 'utf8') > CAP_MAX_BYTES) throw appError('CAP_TOO_LARGE');
  if (/<!DOCTYPE/i.test(xml)) throw invalid('DOCTYPE declarations are not accepted');
  if (/<!ENTITY/i.test(xml)) throw invalid('ENTITY declarations are not accepted');
  const text = xml.startsWith('\uFEFF') ? xml.slice(1) : xml;
  if (NOT_XML_CHAR.test(text)) throw invalid('document contains a character not allowed in XML');
  return parseAlert(readXml(text));
}

/* ------------------------------------------------------------ serialize */

function escapeText(value: string): string {
  // \r is escaped so that it survives the end-of-line normalisation of XML parsers.
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#xD;');
}

/** Decimal notation without exponent, which CAP coordinates cannot carry. */
function formatNumber(value: number): string {
  const text = String(value);
  if (!/e/i.test(text)) return text;
  const fixed = value.toFixed(7).replace(/\.?0+$/, '');
  return fixed === '-0' ? '0' : fixed;
}

/** UTC, second precision, with the "-00:00" offset CAP prescribes instead of "Z". */
function formatCapDateTime(date: Date): string {
  const time = date instanceof Date ? date.getTime() : NaN;
  if (!Number.isFinite(time) || date.getUTCFullYear() < 0 || date.getUTCFullYear() > 9999) {
    throw invalid('<sent> is not a valid date');
  }
  return `${date.toISOString().slice(0, 19)}-00:00`;
}

function required(indent: string, name: string, value: string): string {
  return `${indent}<${name}>${escapeText(value)}</${name}>`;
}

function optional(indent: string, name: string, value: string | undefined): string[] {
  return value === undefined || value === '' ? [] : [required(indent, name, value)];
}

function areaXml(area: CapArea): string[] {
  const i = '      ';
  return [
    '    <area>',
    required(i, 'areaDesc', area.areaDesc),
    ...area.polygons.map(
      (ring) =>
        `${i}<polygon>${ring.map(([lat, lon]) => `${formatNumber(lat)},${formatNumber(lon)}`).join(' ')}</polygon>`,
    ),
    ...area.circles.map(
      (c) =>
        `${i}<circle>${formatNumber(c.lat)},${formatNumber(c.lon)} ${formatNumber(c.radiusKm)}</circle>`,
    ),
    '    </area>',
  ];
}

function infoXml(info: CapInfo): string[] {
  const i = '    ';
  return [
    '  <info>',
    required(i, 'language', info.language),
    ...info.category.map((category) => required(i, 'category', category)),
    required(i, 'event', info.event),
    required(i, 'urgency', info.urgency),
    required(i, 'severity', info.severity),
    required(i, 'certainty', info.certainty),
    ...optional(i, 'senderName', info.senderName),
    ...optional(i, 'headline', info.headline),
    ...optional(i, 'description', info.description),
    ...optional(i, 'instruction', info.instruction),
    ...info.parameters.flatMap((parameter) => [
      `${i}<parameter>`,
      required(`${i}  `, 'valueName', parameter.valueName),
      required(`${i}  `, 'value', parameter.value),
      `${i}</parameter>`,
    ]),
    ...info.areas.flatMap(areaXml),
    '  </info>',
  ];
}

/**
 * Serializes an alert as a CAP 1.2 document (UTF-8 declaration, default namespace,
 * elements in schema order). `sent` is written in UTC as e.g. 2026-12-01T13:00:00-00:00;
 * sub-second precision is dropped because CAP has none. Empty optional strings are left
 * out. The output is checked with parseCap, so this never returns a document that
 * parseCap would reject.
 * @throws AppError CAP_INVALID (the alert breaks a CAP rule, e.g. an unclosed polygon)
 * @throws AppError CAP_TOO_LARGE (the document would exceed CAP_MAX_BYTES)
 */
export function toCapXml(alert: CapAlert): string {
  const i = '  ';
  for (const [name, value] of textValues(alert)) {
    if (NOT_XML_CHAR.test(value))
      throw invalid(`<${name}> contains a character not allowed in XML`);
  }
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<alert xmlns="${CAP_NAMESPACE}">`,
    required(i, 'identifier', alert.identifier),
    required(i, 'sender', alert.sender),
    required(i, 'sent', formatCapDateTime(alert.sent)),
    required(i, 'status', alert.status),
    required(i, 'msgType', alert.msgType),
    required(i, 'scope', alert.scope),
    ...optional(i, 'restriction', alert.restriction),
    ...optional(i, 'addresses', alert.addresses),
    ...optional(i, 'note', alert.note),
    ...optional(i, 'references', alert.references),
    ...alert.infos.flatMap(infoXml),
    '</alert>',
  ];
  const xml = `${lines.join('\n')}\n`;
  parseCap(xml);
  return xml;
}

/** Every free-text value of an alert with its element name, for the character check. */
function textValues(alert: CapAlert): Array<[string, string]> {
  const values: Array<[string, string | undefined]> = [
    ['identifier', alert.identifier],
    ['sender', alert.sender],
    ['restriction', alert.restriction],
    ['addresses', alert.addresses],
    ['note', alert.note],
    ['references', alert.references],
  ];
  for (const info of alert.infos) {
    values.push(
      ['language', info.language],
      ['event', info.event],
      ['senderName', info.senderName],
      ['headline', info.headline],
      ['description', info.description],
      ['instruction', info.instruction],
      ...info.category.map((category): [string, string] => ['category', category]),
    );
    for (const parameter of info.parameters) {
      values.push(['valueName', parameter.valueName], ['value', parameter.value]);
    }
    for (const area of info.areas) values.push(['areaDesc', area.areaDesc]);
  }
  return values.filter((entry): entry is [string, string] => typeof entry[1] === 'string');
}
