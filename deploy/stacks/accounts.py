"""The customers' Cognito user pool, its public app client and the staff group."""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct


class CustomerAccounts(Construct):
    """E-mail sign-in with a verified address, a strong password policy and optional TOTP MFA.

    The pool holds the customers: deletion protection on and RETAIN, so neither a stack update nor
    a `cdk destroy` can lose it. The app client has no secret (the web tier signs in with
    USER_PASSWORD_AUTH; other clients may use SRP), revokable refresh tokens, and does not reveal
    whether an account exists. The web tier verifies the tokens itself against the pool's JWKS:
    it needs no IAM permission on the pool.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, password_min_length: int, staff_group: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "Customers",
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=password_min_length,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(7),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.client = self.user_pool.add_client(
            "Web",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_password=True, user_srp=True),  # refresh is always on
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=Duration.minutes(60),
            id_token_validity=Duration.minutes(60),
            refresh_token_validity=Duration.days(30),
        )
        self.staff_group = cognito.CfnUserPoolGroup(
            self,
            "Staff",
            user_pool_id=self.user_pool.user_pool_id,
            group_name=staff_group,
            description="CloudCart staff: may change the catalog and read every order.",
        )

    def environment(self) -> dict[str, str]:
        """The web tier's settings: the issuer and the JWKS URL follow from the region and the pool."""
        return {
            "COGNITO_USER_POOL_ID": self.user_pool.user_pool_id,
            "COGNITO_CLIENT_ID": self.client.user_pool_client_id,
        }
