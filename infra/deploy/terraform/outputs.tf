output "bucket_name" {
  description = "The Object Lock bucket."
  value       = aws_s3_bucket.checkpoints.bucket
}

output "bucket_arn" {
  description = "ARN of the Object Lock bucket."
  value       = aws_s3_bucket.checkpoints.arn
}

output "kms_key_arn" {
  description = "The KMS key encrypting the checkpoints (losing it loses them)."
  value       = aws_kms_key.checkpoints.arn
}

output "writer_policy_arn" {
  description = "IAM policy for the sealer's role."
  value       = aws_iam_policy.writer.arn
}

output "reader_policy_arn" {
  description = "IAM policy for roles that verify checkpoints."
  value       = aws_iam_policy.reader.arn
}

output "ledger_settings" {
  description = "The ledger's settings for this bucket (environment of the sealer and the API)."
  value = {
    LEDGER_WORM      = "s3"
    LEDGER_S3_BUCKET = aws_s3_bucket.checkpoints.bucket
    LEDGER_S3_REGION = var.region
  }
}
