//! One embedded store per test process: chDB admits a single data directory
//! per process, so every unit test shares this one.

use std::sync::OnceLock;

use flowsage_ingest::store::{Store, StoreConfig};

use crate::{Toolbox, ToolsConfig};

pub(crate) async fn toolbox() -> Toolbox {
    static STORE: OnceLock<(Store, tempfile::TempDir)> = OnceLock::new();
    let (store, _) = STORE.get_or_init(|| {
        // The store's worker threads outlive any one test's runtime.
        std::thread::spawn(|| {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let dir = tempfile::tempdir().unwrap();
            let config =
                StoreConfig { data_dir: dir.path().join("data"), ..StoreConfig::default() };
            let store = runtime.block_on(Store::open(&config)).expect("open the embedded store");
            (store, dir)
        })
        .join()
        .unwrap()
    });
    Toolbox::new(store.clone(), None, ToolsConfig::default())
}
