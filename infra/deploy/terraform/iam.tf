# What the ledger's processes may do, and no more. S3 authorises HeadObject as s3:GetObject
# (s3:GetObjectVersion with a VersionId), and returns the Object Lock mode and retain-until date
# only to callers with s3:GetObjectRetention: without it S3WormStore.put fails its read-back check.
# PutObject with Object Lock headers needs s3:PutObjectRetention. ListBucket (under checkpoints/
# only) serves verification's "no WORM checkpoint missing from the database" and makes a missing
# key a 404 rather than a 403.

# The sealer (`ledger seal --follow`): create-only writes and their read-back.
data "aws_iam_policy_document" "writer" {
  statement {
    sid       = "WriteCheckpointsWithComplianceLock"
    effect    = "Allow"
    actions   = ["s3:PutObject", "s3:PutObjectRetention"]
    resources = [local.checkpoint_arn]
  }

  statement {
    sid       = "ReadCheckpointsBack"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention"]
    resources = [local.checkpoint_arn]
  }

  statement {
    sid       = "ListCheckpoints"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.checkpoints.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [local.checkpoint_prefix, "${local.checkpoint_prefix}*"]
    }
  }

  statement {
    sid       = "UseTheBucketKey"
    effect    = "Allow"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.checkpoints.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_service]
    }
  }
}

# Verification (the verifier's `ledger verify --follow`, the API's POST /admin/verification,
# auditors): read and list.
data "aws_iam_policy_document" "reader" {
  statement {
    sid       = "ReadCheckpoints"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention"]
    resources = [local.checkpoint_arn]
  }

  statement {
    sid       = "ListCheckpoints"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.checkpoints.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [local.checkpoint_prefix, "${local.checkpoint_prefix}*"]
    }
  }

  statement {
    sid       = "DecryptThroughS3"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.checkpoints.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_service]
    }
  }
}

resource "aws_iam_policy" "writer" {
  name        = "${var.bucket_name}-writer"
  description = "audit-ledger sealer: write and read back WORM checkpoints in ${var.bucket_name}"
  policy      = data.aws_iam_policy_document.writer.json
}

resource "aws_iam_policy" "reader" {
  name        = "${var.bucket_name}-reader"
  description = "audit-ledger verification: read WORM checkpoints in ${var.bucket_name}"
  policy      = data.aws_iam_policy_document.reader.json
}

resource "aws_iam_role_policy_attachment" "writer" {
  count      = var.writer_role_name == null ? 0 : 1
  role       = var.writer_role_name
  policy_arn = aws_iam_policy.writer.arn
}

resource "aws_iam_role_policy_attachment" "reader" {
  for_each   = toset(var.reader_role_names)
  role       = each.value
  policy_arn = aws_iam_policy.reader.arn
}
