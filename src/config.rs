//! The configuration file: one TOML document, every section owned by the
//! crate that uses it, unknown keys rejected by name.
//!
//! Secrets may come from the environment instead of the file
//! ([`SECRET_ENV`]); [`Config::masked`] is what `flowsage config print`
//! shows.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use flowsage_agent::McpConfig;
use flowsage_ingest::collector::CollectorConfig;
use flowsage_ingest::store::{Backend, StoreConfig};
use flowsage_tools::ToolsConfig;
use serde::{Deserialize, Serialize};

/// Where `--config` points when not given and the file exists.
pub const DEFAULT_CONFIG_PATH: &str = "config/flowsage.toml";

/// Environment variables that override secrets of the file.
pub const SECRET_ENV: [(&str, &str); 2] = [
    ("FLOWSAGE_MCP_TOKENS", "mcp.tokens (comma-separated)"),
    ("FLOWSAGE_STORE_PASSWORD", "store.server.password"),
];

const MASK: &str = "********";

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where flows are kept.
    pub store: StoreConfig,
    /// Flow collection (NetFlow v9, IPFIX).
    pub flow: CollectorConfig,
    /// The MCP server over HTTP.
    pub mcp: McpConfig,
    /// Result shaping common to all tools.
    pub tools: ToolsConfig,
    /// Logging.
    pub log: LogConfig,
}

/// The `[log]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter, e.g. "info" or "info,flowsage_ingest=debug";
    /// RUST_LOG overrides it.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: "info".to_string() }
    }
}

impl Config {
    /// Reads `path`, or the default file if it exists, or the built-in
    /// defaults; then applies secrets from the environment and validates.
    pub fn load(path: Option<&Path>) -> anyhow::Result<(Self, Option<PathBuf>)> {
        let path = match path {
            Some(path) => Some(path.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_PATH)).filter(|p| p.exists()),
        };
        let mut config = match &path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("in reading the config file {}", path.display()))?;
                let mut config =
                    Self::parse(&text).with_context(|| format!("in {}", path.display()))?;
                config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
                config
            }
            None => Self::default(),
        };
        config.apply_env(|name| std::env::var(name).ok());
        config.validate()?;
        Ok((config, path))
    }

    /// Parses a TOML document; unknown keys are errors that name the key.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        Ok(toml::from_str(text)?)
    }

    /// Makes the relative paths of a file relative to the file's directory
    /// `base`, so the file means the same whatever directory a client (an MCP
    /// client starting `flowsage mcp`, say) starts flowsage from.
    pub fn resolve_paths(&mut self, base: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() && !path.as_os_str().is_empty() {
                *path = base.join(&*path);
            }
        };
        resolve(&mut self.store.data_dir);
        resolve(&mut self.flow.spool_dir);
        self.mcp.token_files.iter_mut().for_each(resolve);
    }

    /// Replaces secrets with the values of [`SECRET_ENV`] that are set and
    /// not empty.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) {
        let get = |name| get(name).filter(|value| !value.trim().is_empty());
        if let Some(tokens) = get("FLOWSAGE_MCP_TOKENS") {
            self.mcp.tokens = tokens
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect();
        }
        if let Some(password) = get("FLOWSAGE_STORE_PASSWORD") {
            self.store.server.password = password;
        }
    }

    /// Every accepted MCP token: `mcp.tokens` and the contents of
    /// `mcp.token_files`.
    pub fn mcp_tokens(&self) -> anyhow::Result<Vec<String>> {
        let mut tokens = self.mcp.tokens.clone();
        for file in &self.mcp.token_files {
            let token = std::fs::read_to_string(file).with_context(|| {
                format!(
                    "in mcp.token_files: cannot read {} (scripts/start creates var/mcp-token; \
                     or remove the entry)",
                    file.display()
                )
            })?;
            let token = token.trim();
            if token.len() < 16 {
                bail!(
                    "in mcp.token_files: {} holds a token of {} characters; use at least 16",
                    file.display(),
                    token.len()
                );
            }
            tokens.push(token.to_string());
        }
        Ok(tokens)
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(short) = self.mcp.tokens.iter().find(|t| t.len() < 16) {
            bail!(
                "in mcp.tokens: a token of {} characters is too easy to guess; use at least 16",
                short.len()
            );
        }
        if self.store.backend == Backend::Server && !self.store.server.url.starts_with("http") {
            bail!("in store.server.url: {:?} is not an http(s) URL", self.store.server.url);
        }
        if self.store.backend == Backend::Embedded && self.store.data_dir.as_os_str().is_empty() {
            bail!("in store.data_dir: the embedded store needs a data directory");
        }
        if self.tools.max_rows == 0 {
            bail!("in tools.max_rows: must be at least 1");
        }
        if self.flow.batch_rows == 0 {
            bail!("in flow.batch_rows: must be at least 1");
        }
        Ok(())
    }

    /// The configuration with every secret replaced by a mask.
    pub fn masked(&self) -> Self {
        let mut masked = self.clone();
        masked.mcp.tokens = masked.mcp.tokens.iter().map(|_| MASK.to_string()).collect();
        if !masked.store.server.password.is_empty() {
            masked.store.server.password = MASK.to_string();
        }
        masked
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("the config serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_rejected_by_name() {
        // given
        let text = "[store]\nbackend = \"embedded\"\ndata_dri = \"x\"\n";

        // when
        let err = Config::parse(text).unwrap_err().to_string();

        // then
        assert!(err.contains("unknown field `data_dri`"), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn unknown_sections_are_rejected_by_name() {
        // when
        let err = Config::parse("[colector]\nlisten = []\n").unwrap_err().to_string();

        // then
        assert!(err.contains("unknown field `colector`"), "{err}");
    }

    #[test]
    fn secrets_from_the_environment_override_the_file_and_are_masked() {
        // given
        let mut config = Config::parse("[mcp]\ntokens = [\"from-the-file-0000\"]\n").unwrap();

        // when
        config.apply_env(|name| match name {
            "FLOWSAGE_MCP_TOKENS" => Some("first-token-00000, second-token-0000".to_string()),
            "FLOWSAGE_STORE_PASSWORD" => Some("hunter2".to_string()),
            _ => None,
        });

        // then
        assert_eq!(config.mcp.tokens, ["first-token-00000", "second-token-0000"]);
        assert_eq!(config.store.server.password, "hunter2");
        let printed = config.masked().to_toml();
        assert!(!printed.contains("first-token") && !printed.contains("hunter2"), "{printed}");
        assert!(printed.contains(MASK));
    }

    #[test]
    fn short_tokens_are_refused() {
        // given
        let config = Config::parse("[mcp]\ntokens = [\"abc\"]\n").unwrap();

        // when
        let err = config.validate().unwrap_err().to_string();

        // then
        assert_eq!(
            err,
            "in mcp.tokens: a token of 3 characters is too easy to guess; use at least 16"
        );
    }

    #[test]
    fn the_documented_example_states_the_defaults() {
        // given: the example's paths point from config/ to the repository's var/
        let text = include_str!("../config/flowsage.toml");
        let mut expected = Config::default();
        expected.store.data_dir = PathBuf::from("../var/data");
        expected.mcp.token_files = vec![PathBuf::from("../var/mcp-token")];

        // when
        let config = Config::parse(text).unwrap();

        // then
        assert_eq!(config, expected, "config/flowsage.toml must show the defaults");
    }

    #[test]
    fn relative_paths_are_relative_to_the_config_file() {
        // given
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("flowsage.toml");
        std::fs::write(
            &file,
            "[store]\ndata_dir = \"data\"\n[mcp]\ntoken_files = [\"/abs/token\", \"t\"]\n",
        )
        .unwrap();

        // when
        let (config, _) = Config::load(Some(&file)).unwrap();

        // then
        assert_eq!(config.store.data_dir, dir.path().join("data"));
        assert_eq!(config.mcp.token_files, [PathBuf::from("/abs/token"), dir.path().join("t")]);
    }

    #[test]
    fn the_spool_lives_in_the_data_directory_unless_configured() {
        // given
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("flowsage.toml");
        std::fs::write(&file, "[store]\ndata_dir = \"data\"\n").unwrap();
        let (default, _) = Config::load(Some(&file)).unwrap();
        std::fs::write(&file, "[store]\ndata_dir = \"data\"\n[flow]\nspool_dir = \"spool\"\n")
            .unwrap();

        // when
        let (configured, _) = Config::load(Some(&file)).unwrap();

        // then
        let spool = default.flow.spool_dir(&default.store.data_dir);
        assert_eq!(spool, dir.path().join("data").join("spool"));
        let spool = configured.flow.spool_dir(&configured.store.data_dir);
        assert_eq!(spool, dir.path().join("spool"));
    }

    #[test]
    fn token_files_add_their_tokens_and_name_a_missing_file() {
        // given
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t"), "from-a-file-0123456789\n").unwrap();
        let mut config = Config::parse("[mcp]\ntokens = [\"from-the-config-01234\"]\n").unwrap();
        config.mcp.token_files = vec![dir.path().join("t")];

        // when
        let tokens = config.mcp_tokens().unwrap();
        config.mcp.token_files.push(dir.path().join("missing"));
        let missing = config.mcp_tokens().unwrap_err();

        // then
        assert_eq!(tokens, ["from-the-config-01234", "from-a-file-0123456789"]);
        assert!(format!("{missing:#}").contains("missing"), "{missing:#}");
    }

    #[test]
    fn an_empty_environment_variable_does_not_replace_secrets() {
        // given
        let mut config = Config::parse("[mcp]\ntokens = [\"from-the-file-0000\"]\n").unwrap();

        // when
        config.apply_env(|_| Some(" ".to_string()));

        // then
        assert_eq!(config.mcp.tokens, ["from-the-file-0000"]);
    }

    #[test]
    fn every_example_config_parses_and_validates() {
        // given
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut checked = 0;

        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }

            // when
            let parsed = Config::parse(&std::fs::read_to_string(&path).unwrap());

            // then
            let config = parsed.unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            config.validate().unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            checked += 1;
        }
        assert!(checked >= 1, "no example configs found in {}", dir.display());
    }

    #[test]
    fn an_empty_file_means_the_defaults() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }
}
