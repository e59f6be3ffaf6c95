//! The `warehouse` program end to end: publish, follow, stock, alerts,
//! sales; exit codes and one-line errors for bad input.

use std::process::{Command, Output};

use crate::support::{NATS_URL, fresh};

fn warehouse(namespace: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warehouse"))
        .args(args)
        .args(["--nats", NATS_URL, "--namespace", namespace])
        .env("RUST_LOG", "error")
        .output()
        .expect("run warehouse")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs a command that must succeed; its output.
fn ok(namespace: &str, args: &[&str]) -> String {
    let output = warehouse(namespace, args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{args:?}: {}",
        stderr(&output)
    );
    stdout(&output)
}

/// The rows of the table in `printed`, each as its cells.
fn rows(printed: &str) -> Vec<Vec<String>> {
    printed
        .lines()
        .skip_while(|line| !line.starts_with("---"))
        .skip(1)
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn the_program_publishes_follows_and_shows_stock_alerts_and_sales() {
    let fresh = fresh().await;
    let ns = fresh.namespace.to_string();
    let ns = ns.as_str();
    let publish = |args: &[&str]| {
        let mut all = vec!["publish"];
        all.extend_from_slice(args);
        ok(ns, &all)
    };
    let first = publish(&[
        "replenished",
        "--warehouse",
        "north",
        "--product",
        "widget",
        "--quantity",
        "20",
    ]);
    assert!(
        first.contains("published replenished 20 at main on "),
        "{first}"
    );
    publish(&[
        "moved",
        "--warehouse",
        "north",
        "--product",
        "widget",
        "--quantity",
        "5",
        "--from",
        "main",
        "--to",
        "back",
    ]);
    publish(&[
        "sold",
        "--warehouse",
        "north",
        "--product",
        "widget",
        "--quantity",
        "12",
        "--msg-id",
        "sale-1",
    ]);
    let retry = publish(&[
        "sold",
        "--warehouse",
        "north",
        "--product",
        "widget",
        "--quantity",
        "12",
        "--msg-id",
        "sale-1",
    ]);
    assert!(
        retry.contains("sale-1 was already published as message 3"),
        "{retry}"
    );
    publish(&[
        "replenished",
        "--warehouse",
        "south",
        "--product",
        "gadget",
        "--quantity",
        "8",
        "--location",
        "dock",
    ]);
    publish(&[
        "sold",
        "--warehouse",
        "south",
        "--product",
        "gadget",
        "--quantity",
        "2",
        "--location",
        "dock",
    ]);
    publish(&[
        "destroyed",
        "--warehouse",
        "north",
        "--product",
        "widget",
        "--quantity",
        "1",
        "--location",
        "back",
    ]);

    let followed = ok(
        ns,
        &[
            "follow",
            "--for",
            "3",
            "--threshold",
            "10",
            "--threshold",
            "gadget=1",
            "--ack-wait",
            "5",
        ],
    );
    assert!(
        followed.contains("north/widget: sold 12 at main"),
        "{followed}"
    );
    assert!(
        followed.contains("north/widget: ALERT stock.low: stock 8 below 10 (event #3)"),
        "{followed}"
    );
    assert!(followed.contains("handled "), "{followed}");

    let stock = ok(ns, &["stock"]);
    assert_eq!(
        rows(&stock),
        [
            ["north", "widget", "7", "back:4 main:3", "-", "1", "4", "6"],
            ["south", "gadget", "6", "dock:6", "armed", "0", "2", "5"],
        ],
        "{stock}"
    );
    let south = ok(ns, &["stock", "--warehouse", "south"]);
    assert_eq!(rows(&south).len(), 1, "{south}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(ns, &["stock", "--json"])).expect("json");
    assert_eq!(json[0]["stock"], 7);

    let alerts = ok(ns, &["alerts"]);
    let alert_rows = rows(&alerts);
    assert_eq!(alert_rows.len(), 1, "{alerts}");
    assert_eq!(
        alert_rows[0][1..],
        ["north", "widget", "8", "10", "3"],
        "{alerts}"
    );

    let sales = ok(ns, &["sales"]);
    let sales_rows = rows(&sales);
    assert_eq!(
        sales_rows
            .iter()
            .map(|r| r[..4].to_vec())
            .collect::<Vec<_>>(),
        [["1", "widget", "12", "1"], ["2", "gadget", "2", "1"]],
        "{sales}"
    );
    drop(fresh);
}

#[tokio::test]
async fn bad_input_is_an_error_naming_the_value() {
    let fresh = fresh().await;
    let ns = fresh.namespace.to_string();
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "publish",
                "sold",
                "--warehouse",
                "n",
                "--product",
                "p",
                "--quantity",
                "-3",
            ],
            "invalid quantity \"-3\"",
        ),
        (
            &[
                "publish",
                "stolen",
                "--warehouse",
                "n",
                "--product",
                "p",
                "--quantity",
                "1",
            ],
            "unknown event type \"stolen\"",
        ),
        (
            &[
                "publish",
                "sold",
                "--warehouse",
                "n.1",
                "--product",
                "p",
                "--quantity",
                "1",
            ],
            "invalid warehouse \"n.1\"",
        ),
        (
            &[
                "publish",
                "moved",
                "--warehouse",
                "n",
                "--product",
                "p",
                "--quantity",
                "1",
            ],
            "moved takes --from and --to",
        ),
        (
            &[
                "publish",
                "sold",
                "--warehouse",
                "n",
                "--product",
                "p",
                "--quantity",
                "1",
                "--to",
                "x",
            ],
            "--from and --to are for moved only",
        ),
        (
            &["follow", "--for", "1", "--threshold", "p=lots"],
            "invalid threshold \"p=lots\"",
        ),
    ];
    for (args, says) in cases {
        let output = warehouse(&ns, args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(says),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert!(
        fresh
            .warehouse
            .entries(None)
            .await
            .expect("entries")
            .is_empty()
    );
    let nothing = fresh
        .warehouse
        .events()
        .clone()
        .info()
        .await
        .expect("info")
        .state
        .messages;
    assert_eq!(nothing, 0);
}

#[test]
fn without_nats_the_program_says_how_to_start_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_warehouse"))
        .args(["stock", "--nats", "nats://127.0.0.1:1"])
        .output()
        .expect("run warehouse");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("scripts/ensure-nats"),
        "{}",
        stderr(&output)
    );
}
