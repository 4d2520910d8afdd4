"""An owner uses the Bounces tab in a real browser (headless Chromium).

Debian's chromium and chromium-driver (installed by .ci/run); the test is
skipped where they are missing.  Screenshots go to the test's folder, and
to $BOUNCERULES_SCREENSHOTS when set (the README's picture comes so).
"""

import os
import shutil
from pathlib import Path

import pytest
from conftest import PASSWORD, page

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="needs Debian's chromium and chromium-driver")


@pytest.fixture
def browser(tmp_path):
    webdriver = pytest.importorskip('selenium.webdriver')
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ('--headless=new', '--no-sandbox', '--disable-gpu',
                 '--disable-quic', '--no-first-run',
                 '--disable-background-networking',
                 '--disable-component-update', '--disable-sync',
                 '--window-size=1280,900',
                 '--user-data-dir=%s' % (tmp_path / 'profile')):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(10)
    try:
        yield driver
    finally:
        driver.quit()


def gone(element):
    """A wait condition: `element`'s page has been replaced.  Chromium
    says so with a stale reference, or, while the next page loads, with
    "Node ... does not belong to the document": both mean gone."""
    from selenium.common.exceptions import WebDriverException

    def check(driver):
        try:
            element.is_enabled()
        except WebDriverException:
            return True
        return False
    return check


def snapshot(driver, tmp_path, name):
    driver.save_screenshot(str(tmp_path / name))
    wanted = os.environ.get('BOUNCERULES_SCREENSHOTS')
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / name, Path(wanted) / name)


def log_in(browser, live_server, owner, then):
    from selenium.webdriver.common.by import By
    browser.get(live_server.url + '/accounts/login/?next=' + then)
    browser.find_element(By.NAME, 'login').send_keys(owner.username)
    browser.find_element(By.NAME, 'password').send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, 'form button[type=submit]').click()


def in_view(browser, element):
    """Whether `element` begins inside the window, without scrolling."""
    return browser.execute_script(
        'return arguments[0].getBoundingClientRect().top < innerHeight;',
        element)


def test_an_owner_re_enables_a_confirmed_member(
        core, transactional_db, owner, live_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as arrived
    from selenium.webdriver.support.ui import Select, WebDriverWait
    wait = WebDriverWait(browser, 15)
    log_in(browser, live_server, owner, page('list_summary'))

    # The list's page, logged in: the tab is there for its owner.
    tab = wait.until(arrived.element_to_be_clickable((By.LINK_TEXT,
                                                      'Bounces')))
    tab.click()
    wait.until(gone(tab))
    wait.until(arrived.url_contains(page('bouncerules_overview')))
    snapshot(browser, tmp_path, 'panel-overview.png')

    Select(browser.find_element(
        By.CSS_SELECTOR, '#bouncerules-filter select[name=state]')
    ).select_by_value('confirmed')
    old_page = browser.find_element(By.ID, 'bouncerules-members')
    browser.find_element(By.CSS_SELECTOR,
                         '#bouncerules-filter button').click()
    # The new page, not the old one still on screen while it loads.
    wait.until(gone(old_page))
    wait.until(arrived.url_contains('state=confirmed'))
    rows = browser.find_elements(By.CSS_SELECTOR,
                                 '#bouncerules-members tbody tr[data-email]')
    assert [row.get_attribute('data-email') for row in rows] == [
        'bart@example.org']
    snapshot(browser, tmp_path, 'panel-confirmed.png')

    rows[0].find_element(By.NAME, 'email').click()
    old_page = browser.find_element(By.ID, 'bouncerules-members')
    browser.find_element(By.ID, 'bouncerules-bulk').click()
    wait.until(gone(old_page))
    # It asks first, naming the member.
    confirm = wait.until(arrived.element_to_be_clickable(
        (By.ID, 'bouncerules-bulk-confirmed')))
    assert 'bart@example.org' in browser.find_element(
        By.ID, 'bouncerules-bulk-sample').text
    assert in_view(browser, confirm)
    confirm.click()
    wait.until(gone(confirm))
    wait.until(arrived.text_to_be_present_in_element(
        (By.TAG_NAME, 'body'), '1 member gets mail again.'))
    assert 'state=confirmed' in browser.current_url
    browser.implicitly_wait(0)
    assert browser.find_elements(
        By.CSS_SELECTOR, '#bouncerules-members tbody tr[data-email]') == []
    snapshot(browser, tmp_path, 'panel-reenabled.png')
    assert core.plugin('members/bart@example.org')['state'] == 'ok'


def test_an_owner_sees_who_a_hold_covers_releases_it_and_undoes_one(
        core, transactional_db, owner, live_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as arrived
    from selenium.webdriver.support.ui import WebDriverWait
    wait = WebDriverWait(browser, 15)
    log_in(browser, live_server, owner, page('bouncerules_holds'))
    row = wait.until(arrived.presence_of_element_located(
        (By.CSS_SELECTOR, '#bouncerules-holds tr[data-status=held]')))
    hold = row.get_attribute('data-hold')
    # Who the hold covers, unfolded, each with what releasing does.
    row.find_element(By.TAG_NAME, 'summary').click()
    covered = row.find_elements(By.CSS_SELECTOR,
                                '[data-hold-members] li')
    assert covered and all('would be removed' in item.text or
                           'mail would stop' in item.text
                           for item in covered)
    snapshot(browser, tmp_path, 'panel-hold.png')
    held = core.plugin('members', held='true', count=100, page=1)['entries']
    mine = [member['email'] for member in held
            if member['held']['hold'] == int(hold)]
    assert len(mine) == len(covered)

    # Release asks first, with the count.
    row.find_element(By.CSS_SELECTOR, 'button.btn-danger').click()
    confirm = wait.until(arrived.element_to_be_clickable(
        (By.ID, 'bouncerules-release-confirmed')))
    asked = browser.find_element(By.TAG_NAME, 'body').text
    assert '%d members will be removed' % len(mine) in asked
    assert in_view(browser, confirm)    # above the sample, not below it
    snapshot(browser, tmp_path, 'panel-release.png')
    confirm.click()
    wait.until(gone(confirm))
    wait.until(arrived.text_to_be_present_in_element(
        (By.TAG_NAME, 'body'), 'Hold %s released: %d members removed'
        % (hold, len(mine))))
    released = browser.find_element(
        By.CSS_SELECTOR, '#bouncerules-holds tr[data-hold="%s"]' % hold)
    assert released.get_attribute('data-status') == 'released'
    assert 'in this panel' in released.text
    assert '%d members\' decisions carried out' % len(mine) in released.text
    assert 'held' not in released.text.replace('Hold', '')

    # One of them: what happened, in a sentence, and the one button the
    # plugin accepts now; after the undo, no button promises more.
    browser.get(live_server.url + page('bouncerules_member', mine[0]))
    said = wait.until(arrived.presence_of_element_located(
        (By.ID, 'bouncerules-what-happened')))
    assert said.text.startswith('This address was removed from the list')
    assert browser.find_elements(By.ID, 'bouncerules-reenable') == []
    snapshot(browser, tmp_path, 'panel-member.png')
    undo = browser.find_element(By.ID, 'bouncerules-undo')
    undo.click()
    wait.until(gone(undo))
    wait.until(arrived.text_to_be_present_in_element(
        (By.TAG_NAME, 'body'), 'The removal of %s was undone' % mine[0]))
    browser.implicitly_wait(0)
    assert browser.find_elements(By.ID, 'bouncerules-undo') == []
    assert core.plugin('members/' + mine[0])['state'] != 'removed'


def test_an_owner_tries_a_bounce_and_reads_why(
        core, transactional_db, owner, live_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as arrived
    from selenium.webdriver.support.ui import WebDriverWait

    from mailman_bouncerules.tools.testing import samples
    wait = WebDriverWait(browser, 15)
    log_in(browser, live_server, owner, page('bouncerules_try'))
    bounce = samples.rfc3464('zed@example.net', '5.1.1',
                             '550 5.1.1 <zed@example.net>: user unknown')
    box = wait.until(arrived.presence_of_element_located(
        (By.NAME, 'message')))
    # Typing a whole message is slow; the browser sets it as a paste would.
    browser.execute_script('arguments[0].value = arguments[1];', box,
                           bounce.decode())
    submit = browser.find_element(By.CSS_SELECTOR,
                                  '#bouncerules-try button[type=submit]')
    # Below the pasted message, as for an owner, who scrolls to it.  At
    # once: the theme scrolls smoothly, and a click while the page still
    # moves lands on whatever passes under the button's old place.
    browser.execute_script(
        'arguments[0].scrollIntoView({block: "center", behavior: "instant"});',
        submit)
    submit.click()
    verdict = wait.until(arrived.presence_of_element_located(
        (By.ID, 'bouncerules-verdict')))
    # The result is what the owner sees first (the form's address points
    # at it, whatever scroll the browser keeps), and it tells the truth:
    # a mailed notice like this one is probed before anyone is removed.
    wait.until(lambda driver: in_view(driver, verdict))
    assert 'verification probe first' in verdict.text
    why = verdict.find_element(By.CSS_SELECTOR, '.bouncerules-why summary')
    why.click()
    assert 'user-unknown' in verdict.text
    snapshot(browser, tmp_path, 'panel-try.png')
