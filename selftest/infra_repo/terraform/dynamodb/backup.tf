# AWS Backup for the tables (DDB-04): a vault per env, a daily or hourly plan, and in envs with a DR
# region a copy of every recovery point to a vault there.

variable "backup_retention_days" {
  description = "Days a recovery point is kept, per env"
  type        = map(number)
  default     = { dev = 7, sit = 14, prod = 90, local = 90 }
}

resource "aws_backup_vault" "tables" {
  name = "bbws-backup-vault-${var.environment}"
}

resource "aws_backup_vault" "dr" {
  count    = var.dr_region != "" ? 1 : 0
  provider = aws.dr
  name     = "bbws-backup-vault-${var.environment}"
}

resource "aws_backup_plan" "tables" {
  name = "bbws-dynamodb-${var.environment}-${var.backup_policy}"

  rule {
    rule_name         = var.backup_policy
    target_vault_name = aws_backup_vault.tables.name
    schedule          = var.backup_policy == "hourly" ? "cron(0 * * * ? *)" : "cron(0 2 * * ? *)"

    lifecycle {
      delete_after = var.backup_retention_days[var.environment]
    }

    dynamic "copy_action" {
      for_each = var.dr_region != "" ? [1] : []
      content {
        destination_vault_arn = aws_backup_vault.dr[0].arn
        lifecycle {
          delete_after = var.backup_retention_days[var.environment]
        }
      }
    }
  }
}

data "aws_iam_policy_document" "backup_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["backup.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "backup" {
  name               = "bbws-backup-role-${var.environment}"
  assume_role_policy = data.aws_iam_policy_document.backup_assume.json
}

resource "aws_iam_role_policy_attachment" "backup" {
  role       = aws_iam_role.backup.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
}

resource "aws_backup_selection" "tables" {
  name         = "bbws-dynamodb-${var.environment}-selection"
  plan_id      = aws_backup_plan.tables.id
  iam_role_arn = aws_iam_role.backup.arn
  resources = [
    aws_dynamodb_table.tenants.arn,
    aws_dynamodb_table.products.arn,
    aws_dynamodb_table.campaigns.arn,
  ]
}
