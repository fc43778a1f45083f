import { describe, it, expect } from 'vitest';
import { AppError } from '../../errors.ts';
import { CAP_MAX_BYTES, CAP_NAMESPACE, parseCap, toCapXml, type CapAlert } from './cap.ts';

/** A complete alert with every mapped field set; override parts per test. */
function makeAlert(overrides: Partial<CapAlert> = {}): CapAlert {
  return {
    identifier: 'DE-BY-LST-2026-000123',
    sender: 'lst-muenchen@example.org',
    sent: new Date('2026-12-01T13:00:00Z'),
    status: 'Exercise',
    msgType: 'Alert',
    scope: 'Restricted',
    restriction: 'Nur für Einsatzkräfte',
    note: 'Übung "Winterdienst" <Stufe 2> & Nachalarmierung',
    infos: [
      {
        language: 'de-DE',
        category: ['Fire', 'Rescue'],
        event: 'Großbrand',
        urgency: 'Immediate',
        severity: 'Severe',
        certainty: 'Observed',
        senderName: 'Integrierte Leitstelle München',
        headline: 'Brand in Lagerhalle, Rauchentwicklung',
        description: 'Starke Rauchentwicklung über Schwabing.\nFenster und Türen schließen.',
        instruction: 'Gebiet weiträumig umfahren; Lüftungen ausschalten.',
        parameters: [
          { valueName: 'alarmKeyword', value: 'B4' },
          { valueName: 'empty', value: '' },
        ],
        areas: [
          {
            areaDesc: 'Schwabing-West, Maßnahmenbereich',
            polygons: [
              [
                [48.1642, 11.5706],
                [48.1701, 11.5818],
                [48.1603, 11.5901],
                [48.1642, 11.5706],
              ],
            ],
            circles: [{ lat: 48.1655, lon: 11.5802, radiusKm: 1.5 }],
          },
        ],
      },
    ],
    ...overrides,
  };
}

/** A minimal valid document; `alert` and `info` are inserted into it verbatim. */
function doc(parts: { alert?: string; info?: string; area?: string } = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="${CAP_NAMESPACE}">
  ${
    parts.alert ??
    `<identifier>ID-1</identifier>
  <sender>leitstelle@example.org</sender>
  <sent>2026-12-01T14:00:00+01:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>`
  }
  <info>
    ${
      parts.info ??
      `<category>Met</category>
    <event>Sturm</event>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>`
    }
    <area>
      ${parts.area ?? '<areaDesc>Landkreis Ebersberg</areaDesc>'}
    </area>
  </info>
</alert>`;
}

const HEADER = `<identifier>ID-1</identifier>
  <sender>leitstelle@example.org</sender>
  <sent>2026-12-01T14:00:00+01:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>`;

const INFO_BASE = {
  category: '<category>Met</category>',
  event: '<event>Sturm</event>',
  urgency: '<urgency>Expected</urgency>',
  severity: '<severity>Moderate</severity>',
  certainty: '<certainty>Likely</certainty>',
};

function infoWithout(name: keyof typeof INFO_BASE): string {
  return Object.entries(INFO_BASE)
    .filter(([key]) => key !== name)
    .map(([, xml]) => xml)
    .join('\n');
}

function alertWithout(name: string): string {
  const all = `${HEADER}\n  <scope>Public</scope>`;
  return all
    .split('\n')
    .filter((line) => !line.includes(`<${name}>`))
    .join('\n');
}

/** Calls parse and returns the AppError it throws. */
function rejection(xml: string): AppError {
  try {
    parseCap(xml);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('parseCap accepted the document');
}

function expectInvalid(xml: string, message: RegExp): void {
  const error = rejection(xml);
  expect(error.code).toBe('CAP_INVALID');
  expect(error.statusCode).toBe(400);
  expect(error.message).toMatch(/^CAP: /);
  expect(error.message).toMatch(message);
}

describe('CAP round trip', () => {
  it('gives back an equal alert, polygon, circle and umlauts included', () => {
    const alert = makeAlert();
    const xml = toCapXml(alert);
    expect(parseCap(xml)).toEqual(alert);
  });

  it('writes UTF-8 declaration, namespace, escaped text and a -00:00 offset', () => {
    const xml = toCapXml(makeAlert());
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true);
    expect(xml).toContain(`<alert xmlns="${CAP_NAMESPACE}">`);
    expect(xml).toContain('<sent>2026-12-01T13:00:00-00:00</sent>');
    expect(xml).toContain(
      '<note>Übung "Winterdienst" &lt;Stufe 2&gt; &amp; Nachalarmierung</note>',
    );
    expect(xml).toContain(
      '<polygon>48.1642,11.5706 48.1701,11.5818 48.1603,11.5901 48.1642,11.5706</polygon>',
    );
    expect(xml).toContain('<circle>48.1655,11.5802 1.5</circle>');
  });

  it('keeps Private addresses, references and a public alert without areas', () => {
    const alert = makeAlert({
      scope: 'Private',
      restriction: undefined,
      addresses: 'lst-muenchen "ILS Erding"',
      msgType: 'Update',
      references: 'lst-muenchen@example.org,DE-BY-LST-2026-000122,2026-12-01T13:55:00+01:00',
    });
    delete alert.restriction;
    alert.infos[0]!.areas = [];
    expect(parseCap(toCapXml(alert))).toEqual(alert);
  });

  it('refuses to write an alert that breaks a CAP rule', () => {
    const alert = makeAlert();
    alert.infos[0]!.areas[0]!.polygons[0]!.pop();
    expect(() => toCapXml(alert)).toThrow(/<polygon>/);
    expect(() => toCapXml(makeAlert({ identifier: 'has space' }))).toThrow(/<identifier>/);
    expect(() => toCapXml(makeAlert({ sent: new Date('nope') }))).toThrow(/<sent>/);
    expect(() => toCapXml(makeAlert({ note: 'bell \u0007' }))).toThrow(/<note>/);
  });
});

describe('parseCap on real documents', () => {
  it('parses the severe thunderstorm example of the CAP 1.2 specification', () => {
    const xml = `<?xml version = "1.0" encoding = "UTF-8"?>
<alert xmlns = "urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>KSTO1055887203</identifier>
  <sender>KSTO@NWS.NOAA.GOV</sender>
  <sent>2003-06-17T14:57:00-07:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>SEVERE THUNDERSTORM</event>
    <responseType>Shelter</responseType>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <eventCode>
      <valueName>SAME</valueName>
      <value>SVR</value>
    </eventCode>
    <expires>2003-06-17T16:00:00-07:00</expires>
    <senderName>NATIONAL WEATHER SERVICE SACRAMENTO CA</senderName>
    <headline>SEVERE THUNDERSTORM WARNING</headline>
    <description> AT 254 PM PDT...NATIONAL WEATHER SERVICE DOPPLER RADAR INDICATED A SEVERE THUNDERSTORM OVER SOUTH CENTRAL ALPINE COUNTY...OR ABOUT 18 MILES SOUTHEAST OF KIRKWOOD...MOVING SOUTHWEST AT 5 MPH. HAIL...INCH IN DIAMETER...WINDS TO 58 MPH...AND POSSIBLE FLASH FLOODING ARE LIKELY WITH THIS STORM.</description>
    <instruction>TAKE COVER IN A SUBSTANTIAL SHELTER UNTIL THE STORM PASSES.</instruction>
    <contact>BARUFFALDI/JUSKIE</contact>
    <area>
      <areaDesc>EXTREME NORTH CENTRAL TUOLUMNE COUNTY IN CALIFORNIA, EXTREME NORTHEASTERN CALAVERAS COUNTY IN CALIFORNIA, SOUTHWESTERN ALPINE COUNTY IN CALIFORNIA</areaDesc>
      <polygon>38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14</polygon>
      <geocode>
        <valueName>SAME</valueName>
        <value>006109</value>
      </geocode>
      <geocode>
        <valueName>SAME</valueName>
        <value>006009</value>
      </geocode>
    </area>
  </info>
</alert>`;
    const alert = parseCap(xml);
    expect(alert).toMatchObject({
      identifier: 'KSTO1055887203',
      sender: 'KSTO@NWS.NOAA.GOV',
      status: 'Actual',
      msgType: 'Alert',
      scope: 'Public',
    });
    expect(alert.sent.toISOString()).toBe('2003-06-17T21:57:00.000Z');
    const info = alert.infos[0]!;
    expect(info.language).toBe('en-US');
    expect(info).toMatchObject({
      category: ['Met'],
      event: 'SEVERE THUNDERSTORM',
      urgency: 'Immediate',
      severity: 'Severe',
      certainty: 'Observed',
      senderName: 'NATIONAL WEATHER SERVICE SACRAMENTO CA',
      headline: 'SEVERE THUNDERSTORM WARNING',
      parameters: [],
    });
    expect(info.description).toMatch(/^AT 254 PM PDT/);
    expect(info.areas[0]!.polygons[0]).toEqual([
      [38.47, -120.14],
      [38.34, -119.95],
      [38.52, -119.74],
      [38.62, -119.89],
      [38.47, -120.14],
    ]);
  });

  it('accepts a prefixed namespace, comments, CDATA and character references', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<!-- MoWaS export -->
<cap:alert xmlns:cap="${CAP_NAMESPACE}">
  <cap:identifier>DE-NW-BN-SE030-20261201-30-000</cap:identifier>
  <cap:sender>opendata@example.org</cap:sender>
  <cap:sent>2026-12-01T14:00:00+01:00</cap:sent>
  <cap:status>Actual</cap:status>
  <cap:msgType>Alert</cap:msgType>
  <cap:scope>Public</cap:scope>
  <cap:info>
    <cap:language>de-DE</cap:language>
    <cap:category>Safety</cap:category>
    <cap:event>Gefahreninformation</cap:event>
    <cap:urgency>Immediate</cap:urgency>
    <cap:severity>Minor</cap:severity>
    <cap:certainty>Observed</cap:certainty>
    <cap:headline><![CDATA[Stromausfall in Bonn & Umgebung]]></cap:headline>
    <cap:description>Stra&#223;en &#x26; Pl&#xE4;tze &lt;gesperrt&gt;</cap:description>
  </cap:info>
</cap:alert>`;
    const alert = parseCap(xml);
    expect(alert.sent.toISOString()).toBe('2026-12-01T13:00:00.000Z');
    expect(alert.infos[0]!.headline).toBe('Stromausfall in Bonn & Umgebung');
    expect(alert.infos[0]!.description).toBe('Straßen & Plätze <gesperrt>');
  });
});

describe('parseCap rejects', () => {
  it('documents that are not well-formed XML', () => {
    expectInvalid('<alert><identifier></alert>', /not well-formed XML/);
    expectInvalid('just text', /not well-formed XML/);
    expectInvalid('', /not well-formed XML/);
    expectInvalid(doc({ area: '<areaDesc>A & B</areaDesc>' }), /not well-formed XML/);
    expectInvalid(doc({ area: '<areaDesc>&nbsp;</areaDesc>' }), /not well-formed XML/);
    expectInvalid(`${doc()}\n<alert xmlns="${CAP_NAMESPACE}"/>`, /exactly one root element/);
    expectInvalid(doc().replace('ID-1', 'ID\u0001'), /character not allowed in XML/);
  });

  it('an XXE document with an external entity', () => {
    const xml = `<?xml version="1.0"?>
<!DOCTYPE alert [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<alert xmlns="${CAP_NAMESPACE}"><identifier>&xxe;</identifier></alert>`;
    expectInvalid(xml, /DOCTYPE declarations are not accepted/);
    expectInvalid(
      `<!DOCTYPE alert SYSTEM "file:///etc/passwd">\n${doc().replace(/^<\?xml[^>]*>\n/, '')}`,
      /DOCTYPE/,
    );
  });

  it('a billion-laughs document', () => {
    const entities = Array.from(
      { length: 9 },
      (_, n) => `<!ENTITY lol${n + 1} "${`&lol${n};`.repeat(10)}">`,
    ).join('\n');
    const xml = `<?xml version="1.0"?>
<!DOCTYPE lolz [
<!ENTITY lol0 "lol">
${entities}
]>
<alert xmlns="${CAP_NAMESPACE}"><note>&lol9;</note></alert>`;
    expectInvalid(xml, /DOCTYPE declarations are not accepted/);
    expectInvalid(`<!ENTITY lol "lol">${doc()}`, /ENTITY declarations are not accepted/);
  });

  it('a 70 KB document with CAP_TOO_LARGE', () => {
    const xml = doc({ area: `<areaDesc>${'x'.repeat(70 * 1024)}</areaDesc>` });
    const error = rejection(xml);
    expect(error.code).toBe('CAP_TOO_LARGE');
    expect(error.statusCode).toBe(413);
  });

  it('counts UTF-8 bytes, not characters, against the limit', () => {
    const umlauts = 'ä'.repeat(CAP_MAX_BYTES / 2);
    expect(rejection(doc({ area: `<areaDesc>${umlauts}</areaDesc>` })).code).toBe('CAP_TOO_LARGE');
  });

  it('a wrong root element or namespace', () => {
    expectInvalid(doc().replace(/<(\/?)alert/g, '<$1warning'), /root element must be <alert>/);
    expectInvalid(
      doc().replace(CAP_NAMESPACE, 'urn:oasis:names:tc:emergency:cap:1.1'),
      /root element must be <alert> in namespace urn:oasis:names:tc:emergency:cap:1\.2/,
    );
    expectInvalid(doc().replace(` xmlns="${CAP_NAMESPACE}"`, ''), /root element/);
    expectInvalid(doc().replace(/<(\/?)alert/g, '<$1x:alert'), /prefix "x" is not declared/);
  });

  it.each(['identifier', 'sender', 'sent', 'status', 'msgType', 'scope'])(
    'an alert without <%s>',
    (name) => {
      expectInvalid(doc({ alert: alertWithout(name) }), new RegExp(`<${name}> is missing`));
    },
  );

  it.each(Object.keys(INFO_BASE) as Array<keyof typeof INFO_BASE>)(
    'an info without <%s>',
    (name) => {
      expectInvalid(doc({ info: infoWithout(name) }), new RegExp(`<${name}> is missing`));
    },
  );

  it('an area without <areaDesc>, and empty or repeated required elements', () => {
    expectInvalid(doc({ area: '<circle>48.1,11.5 2</circle>' }), /<areaDesc> is missing/);
    expectInvalid(doc({ area: '<areaDesc> </areaDesc>' }), /<areaDesc> is empty/);
    expectInvalid(
      doc({ alert: `${HEADER}\n<scope>Public</scope><status>Test</status>` }),
      /<status> appears more than once/,
    );
    expectInvalid(
      doc({ info: `${infoWithout('event')}<event><b>x</b></event>` }),
      /<event> must contain text only/,
    );
    expectInvalid(
      doc({ info: `${infoWithout('event')}<evnt>Sturm</evnt>` }),
      /unexpected element <evnt> in <info>/,
    );
  });

  it('a parameter without name or value', () => {
    const param = (inner: string): string =>
      doc({ info: `${Object.values(INFO_BASE).join('')}<parameter>${inner}</parameter>` });
    expectInvalid(param('<value>x</value>'), /<valueName> is missing/);
    expectInvalid(param('<valueName>x</valueName>'), /<value> is missing/);
  });

  it.each([
    ['status', doc().replace('<status>Actual', '<status>actual')],
    ['msgType', doc().replace('<msgType>Alert', '<msgType>Warning')],
    ['scope', doc().replace('<scope>Public', '<scope>Everyone')],
    ['category', doc().replace('<category>Met', '<category>Weather')],
    ['urgency', doc().replace('<urgency>Expected', '<urgency>Soon')],
    ['severity', doc().replace('<severity>Moderate', '<severity>High')],
    ['certainty', doc().replace('<certainty>Likely', '<certainty>Sure')],
  ])('a <%s> outside its enumeration', (name, xml) => {
    expectInvalid(xml, new RegExp(`<${name}> must be one of `));
  });

  it.each([
    ['2026-12-01T13:00:00Z', /<sent> must end in a numeric offset such as -00:00, not "Z"/],
    ['2026-12-01T14:00:00', /<sent> must be a date-time such as/],
    ['2026-12-01 14:00:00+01:00', /<sent> must be a date-time such as/],
    ['2026-12-01T14:00:00.123+01:00', /<sent> must be a date-time such as/],
    ['2026-02-30T14:00:00+01:00', /<sent> is not a valid date-time/],
    ['2026-12-01T24:00:00+01:00', /<sent> is not a valid date-time/],
    ['2026-12-01T14:00:00+15:00', /<sent> is not a valid date-time/],
  ])('sent "%s"', (sent, message) => {
    expectInvalid(doc().replace('2026-12-01T14:00:00+01:00', sent), message);
  });

  it.each([
    ['identifier', 'ID 1'],
    ['identifier', 'ID,1'],
    ['identifier', 'ID&lt;1'],
    ['sender', 'a&amp;b@example.org'],
  ])('a <%s> of "%s"', (name, value) => {
    const xml = doc().replace(/(<identifier>)ID-1|(<sender>)leitstelle@example\.org/g, (m) =>
      m.startsWith(`<${name}>`) ? `<${name}>${value}` : m,
    );
    expectInvalid(xml, new RegExp(`<${name}> must not contain spaces, commas`));
  });

  it('scope Restricted without restriction, Private without addresses', () => {
    expectInvalid(
      doc().replace('<scope>Public', '<scope>Restricted'),
      /<restriction> is required when <scope> is Restricted/,
    );
    expectInvalid(
      doc().replace('<scope>Public', '<scope>Private'),
      /<addresses> is required when <scope> is Private/,
    );
    const restricted = doc().replace(
      '<scope>Public</scope>',
      '<scope>Restricted</scope><restriction>BOS</restriction>',
    );
    expect(parseCap(restricted).restriction).toBe('BOS');
  });

  it('malformed references', () => {
    expectInvalid(
      doc().replace('</scope>', '</scope><references>sender,ID-0</references>'),
      /<references> must be "sender,identifier,sent"/,
    );
  });

  it.each([
    ['48.1,11.5 48.2,11.6 48.1,11.5', /<polygon> must have at least 4 points/],
    ['48.1,11.5 48.2,11.6 48.2,11.5 48.1,11.6', /<polygon> must be closed/],
    ['48.1,11.5 48.2;11.6 48.2,11.5 48.1,11.5', /<polygon> point "48.2;11.6" is not "lat,lon"/],
    ['48.1,11.5 48.2,11.6,3 48.2,11.5 48.1,11.5', /<polygon> point "48.2,11.6,3"/],
    ['91,11.5 48.2,11.6 48.2,11.5 91,11.5', /<polygon> latitude 91 is out of range/],
    ['48.1,181 48.2,11.6 48.2,11.5 48.1,181', /<polygon> longitude 181 is out of range/],
    ['', /<polygon> point "" is not "lat,lon"/],
  ])('polygon "%s"', (polygon, message) => {
    expectInvalid(doc({ area: `<areaDesc>A</areaDesc><polygon>${polygon}</polygon>` }), message);
  });

  it.each([
    ['48.1,11.5', /<circle> must be "lat,lon radius" with the radius in km/],
    ['48.1,11.5 2km', /<circle> must be "lat,lon radius"/],
    ['48.1 11.5 2', /<circle> must be "lat,lon radius"/],
    ['48.1;11.5 2', /<circle> point "48.1;11.5" is not "lat,lon"/],
    ['-91,11.5 2', /<circle> latitude -91 is out of range/],
    ['48.1,-180.5 2', /<circle> longitude -180.5 is out of range/],
    ['48.1,11.5 -2', /<circle> radius must not be negative/],
  ])('circle "%s"', (circle, message) => {
    expectInvalid(doc({ area: `<areaDesc>A</areaDesc><circle>${circle}</circle>` }), message);
  });

  it('accepts the same document once it is fixed', () => {
    const alert = parseCap(
      doc({
        area: '<areaDesc>A</areaDesc><circle>48.1,11.5 0</circle><polygon>48.1,11.5 48.2,11.6 48.2,11.5 48.1,11.5</polygon>',
      }),
    );
    expect(alert.infos[0]!.areas[0]!.circles).toEqual([{ lat: 48.1, lon: 11.5, radiusKm: 0 }]);
    expect(alert.infos[0]!.areas[0]!.polygons[0]).toHaveLength(4);
  });
});
