"""Post-deployment faults (PDV-02, -06, -07) for the embedded world (drills and self-tests; they drive moto)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from checks.world import build
from checks.world.faults import fault


@fault("PDV-02", "table", "the table's billing mode is PROVISIONED (5/5)",
       fails={"test_billing_mode[{r}]": "PDV-02"}, needs="table", changes=("dynamodb:DescribeTable",))
def provisioned(world: Any, table: str) -> None:
    ddb = world.client("dynamodb")
    indexes = ddb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
    updates = [{"Update": {"IndexName": g["IndexName"],
                           "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}}}
               for g in indexes]
    kwargs: dict[str, Any] = {}
    if updates:
        kwargs["GlobalSecondaryIndexUpdates"] = updates
    ddb.update_table(TableName=table, BillingMode="PROVISIONED",
                     ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}, **kwargs)


@fault("PDV-06", "table", "the table has ThrottledRequests (3) within the metrics window",
       fails={"test_no_throttling[{r}]": "PDV-06"}, needs="table", changes=("cloudwatch:GetMetricData",))
def throttled(world: Any, table: str) -> None:
    world.client("cloudwatch").put_metric_data(Namespace="AWS/DynamoDB", MetricData=[{
        "MetricName": "ThrottledRequests", "Dimensions": [{"Name": "TableName", "Value": table}], "Value": 3,
        "Unit": "Count", "Timestamp": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)}])


# A new state serial changes the digest the lock table holds, which the world keeps in step.
@fault("PDV-07", "table", "the table is missing from the Terraform state",
       fails={"test_no_drift[{r}]": "PDV-07", "test_resource_managed[{r}]": "CICD-03"}, needs="table",
       changes=("s3:GetObject", "dynamodb:Scan"))
def dropped_from_state(world: Any, table: str) -> None:
    tf = world.env.terraform
    body = world.client("s3").get_object(Bucket=tf.state_bucket, Key=tf.state_key)["Body"].read()
    doc = json.loads(body)
    doc["resources"] = [r for r in doc["resources"]
                        if not (r["type"] == "aws_dynamodb_table" and r["name"] == table)]
    doc["serial"] += 1
    build.put_state(world, doc)
