"""The panel's forms: what an owner may type, checked before core sees it
(core checks again and its refusals are shown as messages)."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

# The states a member row can be filtered by (the plugin's vocabulary).
STATES = (
    ('', _('All members')),
    ('ok', _('Fine')),
    ('soft', _('Soft')),
    ('hard', _('Hard')),
    ('confirmed', _('Confirmed')),
    ('removed', _('Removed')),
)
REPORTS = (('off', _('Never')), ('daily', _('Daily')), ('weekly', _('Weekly')))
# The largest bounce one may try (the plugin's own limit is 10 MiB).
MAX_TRY_BYTES = 10 * 1024 * 1024


class MemberFilterForm(forms.Form):
    state = forms.ChoiceField(choices=STATES, required=False,
                              label=_('State'))
    q = forms.CharField(max_length=320, required=False,
                        label=_('Address contains'))
    page = forms.IntegerField(min_value=1, max_value=10 ** 9, required=False)
    held = forms.BooleanField(required=False,
                              label=_('Only members a hold covers'))
    # From a campaign's counts: its members with a bounce of one class.
    campaign = forms.CharField(max_length=998, required=False)
    bounced = forms.ChoiceField(required=False, choices=(
        ('', ''), ('hard', 'hard'), ('soft', 'soft'),
        ('complaint', 'complaint')))


class SettingsForm(forms.Form):
    confirm_after = forms.IntegerField(
        # Core says how many it takes (its answer is shown as a message).
        min_value=1, max_value=10 ** 6, label=_('Confirm after'),
        widget=forms.NumberInput(attrs={'class': 'form-control'}),
        help_text=_('Campaigns in a row with a hard bounce before delivery '
                    'stops (a post or a digest is one campaign).'))
    shadow = forms.BooleanField(
        required=False, label=_('Shadow mode'),
        widget=forms.CheckboxInput(attrs={'class': 'form-check-input'}),
        help_text=_('Decide and record, but change no member: compare with '
                    "Mailman's stock bounce handling first."))
    tracking = forms.BooleanField(
        required=False, label=_('Open tracking'),
        widget=forms.CheckboxInput(attrs={'class': 'form-check-input'}),
        help_text=_('Count opens of posts, so a member who reads the list '
                    'is never confirmed as bouncing.'))
    report = forms.ChoiceField(
        choices=REPORTS, label=_('Owner report'),
        widget=forms.Select(attrs={'class': 'form-select form-control'}))


class TryBounceForm(forms.Form):
    message = forms.CharField(
        required=False, widget=forms.Textarea(attrs={'rows': 12}),
        label=_('Paste a bounce (the whole message, headers included)'))
    upload = forms.FileField(required=False, label=_('or upload one'))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get('upload')
        if upload is not None:
            if upload.size > MAX_TRY_BYTES:
                raise forms.ValidationError(
                    _('The file is larger than %(size)d bytes.'),
                    params={'size': MAX_TRY_BYTES})
            data['raw'] = upload.read()
        elif data.get('message', '').strip():
            data['raw'] = data['message'].encode('utf-8')
        else:
            raise forms.ValidationError(
                _('Paste a bounce or choose a file.'))
        return data
