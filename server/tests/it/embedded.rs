//! The private PostgreSQL cluster Writ runs when `DATABASE_URL` is unset.

use server::db::embedded::{EmbeddedPostgres, find_bin_dir};

#[tokio::test]
async fn private_cluster_starts_migrates_and_stops() {
    assert!(
        find_bin_dir().is_some(),
        "this test needs the PostgreSQL server binaries (initdb, pg_ctl) installed"
    );
    let data_dir =
        std::env::temp_dir().join(format!("writ-embedded-{}", uuid::Uuid::new_v4().simple()));

    let cluster = EmbeddedPostgres::start(&data_dir).await.unwrap();
    let url = cluster.url();
    assert!(
        url.contains(&format!(
            "host={}",
            data_dir.canonicalize().unwrap().join("run").display()
        )),
        "{url}"
    );
    let pool = server::db::connect(&url).await.unwrap();
    server::db::migrate(&pool).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "select count(*) from information_schema.tables where table_name = 'grants'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tables, 1);
    // The cluster listens on its socket only, never on a TCP port.
    let listen: String = sqlx::query_scalar("select current_setting('listen_addresses')")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(listen, "");
    pool.close().await;

    // A second start finds the running cluster and leaves it running when it stops.
    let again = EmbeddedPostgres::start(&data_dir).await.unwrap();
    again.stop().await.unwrap();
    assert!(
        server::db::connect(&url).await.is_ok(),
        "the cluster stopped too early"
    );

    cluster.stop().await.unwrap();
    assert!(
        server::db::connect(&url).await.is_err(),
        "the cluster is still running"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn cluster_left_by_crashed_writ_is_adopted() {
    let data_dir =
        std::env::temp_dir().join(format!("writ-embedded-{}", uuid::Uuid::new_v4().simple()));
    let crashed = EmbeddedPostgres::start(&data_dir).await.unwrap();
    let url = crashed.url();
    // Dropping without stopping is what a killed writ leaves: a running cluster, no owner.
    drop(crashed);
    assert!(
        server::db::connect(&url).await.is_ok(),
        "the cluster should still run"
    );

    let next = EmbeddedPostgres::start(&data_dir).await.unwrap();
    next.stop().await.unwrap();

    assert!(
        server::db::connect(&url).await.is_err(),
        "the adopting writ did not stop the cluster"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}
