import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  type ConfigProblem,
  loadConfig,
  parseConfig,
  parseDuration,
  parseHostPort,
  resolveConfigPath,
} from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'mailtrace-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EXAMPLE = fileURLToPath(new URL('../../docs/examples/mailtrace.yaml', import.meta.url));

function problemsOf(text: string): ConfigProblem[] {
  try {
    parseConfig(text, join(dir, 'mailtrace.yaml'), 'mailtrace.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** `line:column path: message`, the part of each problem a test states. */
function brief(problems: ConfigProblem[]): string[] {
  return problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
}

describe('the documented example', () => {
  it('should load, with relative paths resolved against its directory and defaults filled in', async () => {
    const config = await loadConfig(EXAMPLE, { checkFiles: false });
    expect(config.file).toBe(EXAMPLE);
    expect(config.database).toBe(join(dirname(EXAMPLE), 'data', 'mailtrace.db'));
    expect(config.retentionDays).toBe(15);
    expect(config.sources).toEqual([
      {
        name: 'mx1',
        type: 'file',
        paths: ['/var/log/mail.log'],
        timezone: 'Europe/Madrid',
        format: 'auto',
        encoding: 'auto',
        pollInterval: 250,
      },
      {
        name: 'mbox1',
        type: 'ssh',
        address: { host: 'mbox1.example.org', port: 22 },
        user: 'mailtrace',
        privateKey: '/etc/mailtrace/id_ed25519',
        hostKey: 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s',
        paths: ['/var/log/mail.log', '/var/log/dovecot.log'],
        bandwidthLimit: 1048576,
        pollInterval: 2000,
        format: 'auto',
        encoding: 'auto',
      },
      {
        name: 'qmail-mx',
        type: 'file',
        paths: ['/var/log/qmail/current'],
        format: 'multilog',
        host: 'qmail-mx',
        program: 'qmail-send',
        encoding: 'auto',
        pollInterval: 250,
      },
    ]);
  });

  it('should say that the example key file is not there when files are checked', async () => {
    const error = await loadConfig(EXAMPLE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(brief((error as ConfigError).problems)).toEqual([
      '18:5 sources[1].privateKey: cannot read /etc/mailtrace/id_ed25519: no such file',
    ]);
  });
});

describe('validation', () => {
  it('should report every problem at once, with line, column and key path', () => {
    const problems = problemsOf(
      [
        'database: ./db.sqlite', // 1
        'retentionDays: -1', // 2
        'colour: blue', // 3
        'sources:', // 4
        '  - name: mx1', // 5
        '    type: file', // 6
        '    paths: [relative/mail.log]', // 7
        '    timezone: Mars/Olympus', // 8
        '    encoding: klingon', // 9
        '  - name: mx1', // 10
        '    type: ssh', // 11
        '    address: mbox1.example.org:99999', // 12
        '    user: mailtrace', // 13
        '    privateKey: ./id_ed25519', // 14
        '    paths: [log/mail.log]', // 15
        '    bandwidthLimit: -5', // 16
        '    pollInterval: 10ms', // 17
        '  - name: relay', // 18
        '    type: ftp', // 19
        '  - name: in', // 20
        '    type: syslog', // 21
        '    listen: 0.0.0.0:6514', // 22
        '    protocol: tls', // 23
        '    framing: xml', // 24
        '    format: cisco', // 25
        '    hostkey: SHA256:x', // 26
      ].join('\n'),
    );
    expect(brief(problems)).toEqual([
      '2:1 retentionDays: must be 0 (keep everything) or more',
      '3:1 colour: unknown key (known here: database, retentionDays, sources)',
      '8:5 sources[0].timezone: unknown time zone (an IANA name such as Europe/Madrid or UTC)',
      '9:5 sources[0].encoding: unknown encoding (auto, utf-8, latin1, iso-8859-15, windows-1252...)',
      '10:5 sources[1].hostKey: required for ssh sources: pin the server key (ssh-keyscan -p PORT HOST | ssh-keygen -lf -, the SHA256:... field)',
      '10:5 sources[1].name: duplicate name (already used by sources[0])',
      '12:5 sources[1].address: must be host or host:port ([v6]:port for IPv6)',
      '15:5 sources[1].paths: remote paths must be absolute',
      '16:5 sources[1].bandwidthLimit: must be positive (bytes per second)',
      '17:5 sources[1].pollInterval: must be at least 100 ms',
      '19:5 sources[2].type: must be one of file, ssh, syslog',
      '20:5 sources[3].tls: required for protocol tls: { cert: PATH, key: PATH }',
      '24:5 sources[3].framing: must be auto, octet-counting or newline',
      '25:5 sources[3].format: must be one of auto, rfc3164, rfc3339, rfc5424, multilog, postfix-maillog, dovecot, clamd',
      '26:5 sources[3].hostkey: unknown key (known here: name, type, host, program, format, encoding, timezone, listen, protocol, tls, framing, maxConnections, maxMessageBytes)',
    ]);
    expect(problems.every((p) => p.file === 'mailtrace.yaml')).toBe(true);
  });

  it('should print each problem as file:line:column: path: message', () => {
    const text =
      'sources:\n  - name: mbox1\n    type: ssh\n    address: mbox1\n    user: u\n    privateKey: k\n    paths: [/var/log/mail.log]\n';
    const error = (() => {
      try {
        parseConfig(text, join(dir, 'm.yaml'), 'mailtrace.yaml');
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error.message).toBe(
      'mailtrace.yaml:2:5: sources[0].hostKey: required for ssh sources: pin the server key (ssh-keyscan -p PORT HOST | ssh-keygen -lf -, the SHA256:... field)',
    );
  });

  it('should name missing keys and wrong types', () => {
    expect(
      brief(problemsOf('sources:\n  - type: syslog\n    protocol: udp\n  - name: x\n  - 42\n')).sort(),
    ).toEqual(
      [
        '2:5 sources[0].listen: required for syslog sources: address:port to listen on',
        '2:5 sources[0].name: required: a unique name for the source',
        '4:5 sources[1].type: required: the source type (file, ssh, syslog)',
        '5:5 sources[2]: must be a mapping (name, type and the keys of that type)',
      ].sort(),
    );
    expect(brief(problemsOf('database: 12\nsources: {}\n'))).toEqual([
      '1:1 database: must be a path or a postgres:// URL',
      '2:1 sources: must be a list of sources',
    ]);
  });

  it('should report YAML syntax errors and duplicate keys with their place', () => {
    expect(brief(problemsOf('database: a\nsources:\n  - name: x: y\n    type: file\n'))).toEqual([
      '3:11 : YAML: Nested mappings are not allowed in compact mappings',
    ]);
    expect(brief(problemsOf('database: a\ndatabase: b\n'))).toEqual(['2:1 : YAML: Map keys must be unique']);
  });

  it('should refuse a file that is not a mapping', () => {
    expect(brief(problemsOf('- a\n- b\n'))).toEqual([
      '1:1 : must be a mapping of keys (database, retentionDays, sources)',
    ]);
  });

  it('should take syslog listen forms, tls paths and a PostgreSQL URL', () => {
    const config = parseConfig(
      [
        'database: postgres://mailtrace@db.example.org/mailtrace',
        'retentionDays: 0',
        'sources:',
        '  - { name: u, type: syslog, listen: 5514, protocol: udp, host: FW1 }',
        '  - name: t',
        '    type: syslog',
        '    listen: "[::1]:6514"',
        '    protocol: tls',
        '    tls: { cert: tls/cert.pem, key: /etc/mailtrace/key.pem }',
        '    maxConnections: 10',
      ].join('\n'),
      join(dir, 'x.yaml'),
    );
    expect(config.database).toBe('postgres://mailtrace@db.example.org/mailtrace');
    expect(config.retentionDays).toBe(0);
    expect(config.sources).toEqual([
      {
        name: 'u',
        type: 'syslog',
        listen: { host: '0.0.0.0', port: 5514 },
        protocol: 'udp',
        host: 'fw1',
        format: 'auto',
        encoding: 'auto',
        framing: 'auto',
        maxConnections: 256,
        maxMessageBytes: 65536,
      },
      {
        name: 't',
        type: 'syslog',
        listen: { host: '::1', port: 6514 },
        protocol: 'tls',
        tls: { cert: join(dir, 'tls', 'cert.pem'), key: '/etc/mailtrace/key.pem' },
        format: 'auto',
        encoding: 'auto',
        framing: 'auto',
        maxConnections: 10,
        maxMessageBytes: 65536,
      },
    ]);
  });

  it('should default database and sources for a minimal file', () => {
    const config = parseConfig('retentionDays: 30\n', join(dir, 'min.yaml'));
    expect(config).toEqual({
      file: join(dir, 'min.yaml'),
      database: join(dir, 'data', 'mailtrace.db'),
      retentionDays: 30,
      sources: [],
    });
  });

  it('should say when the file cannot be read', async () => {
    const error = await loadConfig(join(dir, 'absent.yaml')).catch((e: unknown) => e);
    expect((error as ConfigError).message).toBe(
      `${join(dir, 'absent.yaml')}: cannot read the configuration: no such file`,
    );
  });
});

describe('resolveConfigPath', () => {
  it('should prefer --config, then MAILTRACE_CONFIG, then an existing ./mailtrace.yaml', async () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    expect(
      await resolveConfigPath({ flag: 'a.yaml', env: { MAILTRACE_CONFIG: '/etc/b.yaml' }, cwd }),
    ).toEqual({
      path: join(cwd, 'a.yaml'),
      from: 'flag',
    });
    expect(await resolveConfigPath({ env: { MAILTRACE_CONFIG: '/etc/b.yaml' }, cwd })).toEqual({
      path: '/etc/b.yaml',
      from: 'env',
    });
    expect(await resolveConfigPath({ env: {}, cwd })).toBeNull();
    writeFileSync(join(cwd, 'mailtrace.yaml'), 'sources: []\n');
    expect(await resolveConfigPath({ env: {}, cwd })).toEqual({
      path: join(cwd, 'mailtrace.yaml'),
      from: 'default',
    });
  });
});

describe('value forms', () => {
  it('should read durations', () => {
    expect([250, '250', '250ms', '2s', '1m', '1h', ' 3s '].map(parseDuration)).toEqual([
      250, 250, 250, 2000, 60_000, 3_600_000, 3000,
    ]);
    expect(['2 s', '-1', '1.5s', 'soon', 1.5, -3, null].map(parseDuration)).toEqual([
      null,
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it('should read host:port forms', () => {
    expect(parseHostPort('mbox1.example.org', 22, null)).toEqual({ host: 'mbox1.example.org', port: 22 });
    expect(parseHostPort('mbox1:2222', 22, null)).toEqual({ host: 'mbox1', port: 2222 });
    expect(parseHostPort('[2001:db8::1]:2222', 22, null)).toEqual({ host: '2001:db8::1', port: 2222 });
    expect(parseHostPort(':514', null, '0.0.0.0')).toEqual({ host: '0.0.0.0', port: 514 });
    expect(parseHostPort('127.0.0.1', null, '0.0.0.0')).toBeNull();
    expect(parseHostPort('h:70000', 22, null)).toBeNull();
    expect(parseHostPort('2001:db8::1', 22, null)).toBeNull();
  });
});
