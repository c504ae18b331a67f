"""A planted set of secrets, each in the form an infra repo or an AWS answer may hold it.

Shared by selftest/test_hostile_secrets.py (the suite's redaction must mask every one) and
bench/secrets_compare.py (the same set scanned by detect-secrets, to compare). Every value is fake.
Each entry: (name, the text as it appears in a file, the secret value inside it).
"""

from __future__ import annotations

OPENSSH_BODY = ("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
                "QyNTUxOQAAACDplantedPLANTEDplantedPLANTEDplanted0000000000AAAAIAAAAAgQ\n"
                "AAAECplantedkeymaterialthatisnotrealatallPLANTEDplanted1111111111111==")
PEM_BODY = ("MIIEowIBAAKCAQEAplantedRSAkeymaterialPLANTEDplantedPLANTEDplanted0000\n"
            "plantedPLANTEDplantedPLANTEDplantedPLANTEDplantedPLANTEDplanted111111")

PLANTED: list[tuple[str, str, str]] = [
    ("hyphenated action input",
     "      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n"
     "          aws-secret-access-key: Pl4ntedHyphenSecretValue0000000000000abc\n",
     "Pl4ntedHyphenSecretValue0000000000000abc"),
    ("underscore field", 'aws_secret_access_key = "Pl4ntedUnderscoreSecretValue000000000xyz"\n',
     "Pl4ntedUnderscoreSecretValue000000000xyz"),
    ("camel field", '{"awsSecretAccessKey": "Pl4ntedCamelSecretValue0000000000000000q"}',
     "Pl4ntedCamelSecretValue0000000000000000q"),
    ("session token", 'aws_session_token = "FwoGZXIvYXdzEPLANTEDsessionTOKENvalue0123456789abcdefXYZ"\n',
     "FwoGZXIvYXdzEPLANTEDsessionTOKENvalue0123456789abcdefXYZ"),
    ("camel session token", '"SessionToken": "IQoJb3JpZ2luX2VjEPLANTEDsessionTokenValue0987654321"',
     "IQoJb3JpZ2luX2VjEPLANTEDsessionTokenValue0987654321"),
    ("password in tfvars", 'db_password = "correct-horse-battery-staple-42"\n', "correct-horse-battery-staple-42"),
    ("api key in yaml", "    x-api-key: 9f8e7d6c5b4a39281706f5e4d3c2b1a0planted\n",
     "9f8e7d6c5b4a39281706f5e4d3c2b1a0planted"),
    ("client secret", "  clientSecret: 'plantedClientSecret~Value.123456'\n", "plantedClientSecret~Value.123456"),
    ("OpenSSH key in a heredoc",
     'resource "tls_private_key" "k" {\n  private_key_openssh = <<EOT\n-----BEGIN OPENSSH PRIVATE KEY-----\n'
     f"{OPENSSH_BODY}\n-----END OPENSSH PRIVATE KEY-----\nEOT\n}}\n", OPENSSH_BODY.splitlines()[1]),
    ("PEM key", f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\n",
     PEM_BODY.splitlines()[1]),
    ("key id", "access key AKIAPLANTEDKEY0000042 was used\n", "AKIAPLANTEDKEY0000042"),
    ("lower-case key id", "id: akiaplantedkey0000043\n", "akiaplantedkey0000043"),
    ("truncated key id", "message ends with AKIAPLANTED00...\n", "AKIAPLANTED00"),
    ("upper-case secret after a key id",
     "AKIAPLANTEDKEY0000044 PLANTEDUPPERCASESECRETVALUE0123456789ABC\n", "PLANTEDUPPERCASESECRETVALUE0123456789ABC"),
    ("mixed secret after a key id", "AKIAPLANTEDKEY0000045 Zx9PlantedSecretKeyValueThatIs40CharsAbc\n",
     "Zx9PlantedSecretKeyValueThatIs40CharsAbc"),
    ("GitHub token", "token ghp_PlantedGitHubTokenValue0123456789abcdEF here\n",
     "ghp_PlantedGitHubTokenValue0123456789abcdEF"),
    ("GitHub fine-grained token", "github_pat_11PLANTED0123456789_PlantedFineGrainedTokenValue0123456789\n",
     "github_pat_11PLANTED0123456789_PlantedFineGrainedTokenValue0123456789"),
    ("env-style secret", "export DEPLOY_TOKEN=plantedDeployTokenValue5566778899\n",
     "plantedDeployTokenValue5566778899"),
]

# What must stay readable: the same kinds of names with values that are no secret.
NOT_SECRETS = [
    "permissions:\n  id-token: write\n",
    "aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n",
    'password = var.db_password\n',
    "git sha 0123456789abcdef0123456789abcdef01234567\n",
    '"NextToken": "eyJwbGFudGVkIjogInBhZ2luYXRpb24ifQ=="',
    "sts:GetCallerIdentity failed with NoCredentialsError: Unable to locate credentials",
    "TokenRefreshRequired: Unable to refresh the token",
]
