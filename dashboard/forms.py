from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm

from dashboard import login_throttle
from dashboard.audit import client_ip
from dashboard.models import ApiKey, Role


class ThrottledLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match. Note that the password is "
        "case-sensitive.",
    }

    def clean_username(self):
        return self.cleaned_data["username"].lower()

    def clean(self):
        email, ip = self.data.get("username", ""), client_ip(self.request)
        if not login_throttle.allow_attempt(email, ip):
            raise forms.ValidationError(
                "Too many failed sign-in attempts. Wait %(minutes)d minutes and try again.",
                code="locked",
                params={"minutes": login_throttle.lockout_minutes()},
            )
        cleaned = super().clean()  # a wrong password raises; its attempt is already counted
        login_throttle.succeeded(email, ip)
        return cleaned


class AccountForm(forms.Form):
    name = forms.CharField(max_length=100)


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args, membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.membership = membership

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        if self.membership.account.memberships.filter(user__email__iexact=email).exists():
            raise forms.ValidationError("This person is already a member of the account.")
        return email

    def clean_role(self):
        role = self.cleaned_data["role"]
        if role == Role.OWNER and self.membership.role != Role.OWNER:
            raise forms.ValidationError("Only an owner can invite another owner.")
        return role


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class SignUpForm(SetPasswordForm):
    """Sets the password of the person accepting an invitation with no user yet."""


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(
        choices=[
            (ApiKey.Kind.INFERENCE, "Inference — resolve requests and list my endpoints"),
            (ApiKey.Kind.MANAGEMENT, "Management — also change privacy settings as code"),
        ],
        initial=ApiKey.Kind.INFERENCE,
    )


def new_user(email: str):
    return get_user_model()(username=email.lower(), email=email.lower())
