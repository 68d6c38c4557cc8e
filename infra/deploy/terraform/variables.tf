variable "region" {
  description = "AWS region of the bucket; the ledger's LEDGER_S3_REGION."
  type        = string
  default     = "eu-west-1"
}

variable "bucket_name" {
  description = "Name of the Object Lock bucket; the ledger's LEDGER_S3_BUCKET (globally unique)."
  type        = string
  default     = "audit-ledger-checkpoints"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)."
  }
}

variable "default_retention_days" {
  description = <<-EOT
    Default COMPLIANCE retention for objects written without their own retain-until date. The
    ledger writes every checkpoint with an explicit retain-until from policies/retention.py (the
    longest class in the batch wins); this default is the longest class, 10 years, counted as the
    most days 10 calendar years can have (3653), so it is never shorter than the policy.
  EOT
  type        = number
  default     = 3653

  validation {
    condition     = var.default_retention_days >= 1 && floor(var.default_retention_days) == var.default_retention_days
    error_message = "default_retention_days must be a whole number of days, at least 1."
  }
}

variable "bucket_admin_arns" {
  description = <<-EOT
    IAM principals (role or user ARNs, wildcards allowed) that may change the bucket's policy,
    versioning, Object Lock, encryption and public-access settings: the identity running this
    Terraform, and a break-glass role. Everyone else is denied by the bucket policy.
  EOT
  type        = list(string)

  validation {
    condition     = length(var.bucket_admin_arns) > 0
    error_message = "Name at least one admin principal (the one applying this configuration)."
  }
}

variable "writer_role_name" {
  description = "IAM role the sealer (`ledger seal --follow`) runs as; gets the writer policy. null: attach it yourself."
  type        = string
  default     = null
}

variable "reader_role_names" {
  description = "IAM roles that verify checkpoints (the verifier, the API, auditors' tooling); each gets the read-only policy."
  type        = list(string)
  default     = []
}

variable "kms_deletion_window_days" {
  description = "Waiting period before a scheduled deletion of the KMS key takes effect (7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
