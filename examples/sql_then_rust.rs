//! A view computed in SQL, refined in Rust: per user, SQL sums the payments; Rust keeps, per
//! region, the user with the largest total (ties to the smaller name), as a differential
//! `reduce` written by hand.
//!
//! ```text
//! cargo run --release --example sql_then_rust -- BOOTSTRAP PAYMENTS OUTPUT [-w N] [-n N -p I -h FILE]
//! ```
//! PAYMENTS holds JSON records `{"user": ..., "amount": ..., "region": ...}`; OUTPUT receives
//! the leader of each region as an upsert topic. `-w N` runs N workers; a cluster runs one
//! process per `-p I` with the same `-n N` and hostfile. Any `ddflow run` flag works too.
use ddflow::builder::Dataflow;
use ddflow::data::{Datum, Row};

/// Write each region's leading user (by total amount) of topic `payments` to `output`.
pub fn run(args: Vec<String>) -> ddflow::Result<ddflow::runtime::RunReport> {
    let [name, b, payments, output, flags @ ..] = &args[..] else {
        return Err(ddflow::Error::Config(
            "usage: sql_then_rust BOOTSTRAP PAYMENTS OUTPUT [flags]".into(),
        ));
    };
    let flow = Dataflow::sql(&format!(
        "CREATE TABLE payments (`user` STRING, amount BIGINT, region STRING) WITH (
           'connector' = 'kafka', 'topic' = '{payments}', 'properties.bootstrap.servers' = '{b}',
           'format' = 'json', 'scan.startup.mode' = 'earliest-offset',
           'scan.bounded.mode' = 'latest-offset');
         CREATE TABLE leaders (region STRING, `user` STRING, total BIGINT,
           PRIMARY KEY (region) NOT ENFORCED) WITH ('connector' = 'kafka', 'topic' = '{output}',
           'properties.bootstrap.servers' = '{b}');
         CREATE VIEW totals AS
           SELECT region, `user`, SUM(amount) AS total FROM payments GROUP BY region, `user`;"
    ))?;
    let flow = flow
        .named("sql_then_rust")
        .reads(["totals"])
        .writes(["leaders"]);
    flow.run([name].into_iter().chain(flags).cloned(), |cx| {
        // (region, user, total) rows of the SQL view, keyed by region.
        let totals = cx.read("totals")?.map(|row| {
            let d = row.unpack();
            (Row::pack([d[0]]), Row::pack([d[1], d[2]]))
        });
        let leaders = totals.reduce(|_region, users, out| {
            // The largest total (NULL: none), ties to the smallest user name.
            let rank = |r: &Row| match (r.get(1), r.get(0)) {
                (Datum::Int(n), Datum::Str(u)) => (n, std::cmp::Reverse(u.to_string())),
                _ => (i64::MIN, std::cmp::Reverse(String::new())),
            };
            if let Some((best, _)) = users.iter().max_by_key(|(r, _)| rank(r)) {
                out.push(((*best).clone(), 1i64));
            }
        });
        let rows =
            leaders.map(|(region, best)| Row::pack([region.get(0), best.get(0), best.get(1)]));
        cx.write("leaders", rows)
    })
}

fn main() {
    if let Err(e) = run(std::env::args().collect()) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
