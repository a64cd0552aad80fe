/** The configuration file: `loadConfig` reads and validates it; the types say what it holds. */
export {
  CONFIG_ENV,
  ConfigError,
  type ConfigPathChoice,
  type ConfigProblem,
  DEFAULT_CONFIG_NAME,
  formatProblem,
  type LoadOptions,
  loadConfig,
  parseConfig,
  resolveConfigPath,
} from './load.js';
export {
  DEFAULT_DATABASE,
  DEFAULT_FILE_POLL_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_RETENTION_DAYS,
  DEFAULT_SSH_POLL_MS,
  type FileSourceConfig,
  type HostPort,
  type MailtraceConfig,
  parseDuration,
  parseHostPort,
  type SourceConfig,
  type SshSourceConfig,
  type SyslogSourceConfig,
} from './schema.js';
