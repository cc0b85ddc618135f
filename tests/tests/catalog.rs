//! The Glue tables in `template.yaml` declare exactly the columns the Parquet
//! files have, in the same order, with the Hive types Athena maps them to.

use arrow_schema::{DataType, SchemaRef};
use std::path::Path;
use tickerpulse_aggregate::output::{overall_summary_schema, ticker_summary_schema};
use tickerpulse_lake::codec::{cleaned_schema, spam_schema, stage1_schema};

fn hive(t: &DataType) -> String {
    match t {
        DataType::Utf8 => "string".into(),
        DataType::Boolean => "boolean".into(),
        // Athena reads `bigint` from signed INT64 only: an unsigned column fails.
        DataType::Int64 => "bigint".into(),
        DataType::Float64 => "double".into(),
        DataType::Timestamp(_, _) => "timestamp".into(),
        DataType::List(item) => format!("array<{}>", hive(item.data_type())),
        other => panic!("no Hive type for {other}"),
    }
}

#[test]
fn glue_tables_match_the_parquet_schemas() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
            .expect("template.yaml");
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("yaml");
    let check = |logical: &str, schema: SchemaRef, partition_keys: &[&str]| {
        let table = &template["Resources"][logical]["Properties"]["TableInput"];
        let columns: Vec<(String, String)> = table["StorageDescriptor"]["Columns"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{logical} has no columns"))
            .iter()
            .map(|c| {
                (
                    c["Name"].as_str().unwrap().to_string(),
                    c["Type"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), hive(f.data_type())))
            .collect();
        assert_eq!(columns, want, "{logical}");
        let keys: Vec<&str> = table["PartitionKeys"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|k| k["Name"].as_str().unwrap())
            .collect();
        assert_eq!(keys, partition_keys, "{logical}");
    };
    let hourly = ["year", "month", "day", "hour"];
    check("Stage1TweetsGlueTable", stage1_schema(), &hourly);
    check("Stage2CleanedTweetsGlueTable", cleaned_schema(), &hourly);
    check("Stage2SpamTweetsGlueTable", spam_schema(), &hourly);
    check(
        "AnalyticsTickerSummaryGlueTable",
        ticker_summary_schema(),
        &["run_id"],
    );
    check(
        "AnalyticsOverallSummaryGlueTable",
        overall_summary_schema(),
        &["run_id"],
    );
}
