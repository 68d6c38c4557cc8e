# The WORM store for signed checkpoints: one bucket per ledger (origin), S3 Object Lock in
# COMPLIANCE mode, so no account (root included) can delete or shorten a locked version before its
# retain-until date. The sealer writes `checkpoints/<20-digit size>.note` create-only
# (If-None-Match: *) with an explicit COMPLIANCE retain-until and reads it back with HeadObject
# (infra/worm.py, S3WormStore).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # ledger.worm.CHECKPOINT_PREFIX: every object the ledger writes lives under it.
  checkpoint_prefix = "checkpoints/"
  checkpoint_arn    = "${aws_s3_bucket.checkpoints.arn}/${local.checkpoint_prefix}*"
  s3_service        = "s3.${var.region}.amazonaws.com"
}

# --- encryption ------------------------------------------------------------------------------

# Deleting or disabling this key makes every checkpoint unreadable: Object Lock keeps the bytes,
# not the ability to decrypt them. Only the admin principals may schedule deletion or disable it.
resource "aws_kms_key" "checkpoints" {
  description             = "audit-ledger: SSE-KMS for WORM checkpoints in ${var.bucket_name}"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_kms_alias" "checkpoints" {
  name          = "alias/${var.bucket_name}"
  target_key_id = aws_kms_key.checkpoints.key_id
}

data "aws_iam_policy_document" "kms" {
  statement {
    sid       = "AccountAdministersTheKeyThroughIam"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "OnlyAdminsMayDestroyTheKey"
    effect    = "Deny"
    actions   = ["kms:ScheduleKeyDeletion", "kms:DisableKey"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = var.bucket_admin_arns
    }
  }
}

# --- the bucket ------------------------------------------------------------------------------

resource "aws_s3_bucket" "checkpoints" {
  bucket              = var.bucket_name
  object_lock_enabled = true
  force_destroy       = false

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "checkpoints" {
  bucket = aws_s3_bucket.checkpoints.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_object_lock_configuration" "checkpoints" {
  bucket = aws_s3_bucket.checkpoints.id

  rule {
    default_retention {
      mode = "COMPLIANCE"
      days = var.default_retention_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.checkpoints]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "checkpoints" {
  bucket = aws_s3_bucket.checkpoints.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.checkpoints.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "checkpoints" {
  bucket                  = aws_s3_bucket.checkpoints.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "checkpoints" {
  bucket = aws_s3_bucket.checkpoints.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_policy" "checkpoints" {
  bucket = aws_s3_bucket.checkpoints.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.checkpoints]
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.checkpoints.arn, "${aws_s3_bucket.checkpoints.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # COMPLIANCE mode already refuses to delete a locked version; this also refuses delete markers
  # (which would hide a checkpoint from GetObject) and any governance-mode bypass.
  statement {
    sid       = "DenyDeletesAndLockBypass"
    effect    = "Deny"
    actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"]
    resources = ["${aws_s3_bucket.checkpoints.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }

  # Every write must carry its own COMPLIANCE lock (the ledger always sends mode and retain-until).
  statement {
    sid       = "DenyWritesWithoutComplianceLock"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.checkpoints.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "s3:object-lock-mode"
      values   = ["COMPLIANCE"]
    }
  }

  statement {
    sid    = "DenyConfigurationChangesExceptAdmins"
    effect = "Deny"
    actions = [
      "s3:DeleteBucket",
      "s3:DeleteBucketPolicy",
      "s3:PutBucketObjectLockConfiguration",
      "s3:PutBucketOwnershipControls",
      "s3:PutBucketPolicy",
      "s3:PutBucketPublicAccessBlock",
      "s3:PutBucketVersioning",
      "s3:PutEncryptionConfiguration",
      "s3:PutLifecycleConfiguration",
    ]
    resources = [aws_s3_bucket.checkpoints.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = var.bucket_admin_arns
    }
  }
}
